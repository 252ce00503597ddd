"""`GET files` pages: the cached `total` follows every write, the body keeps its exact shape, keyset order."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.emulator.storage.listing import FileQuery
from deepset_cloud.emulator.storage.store import Store

from .emulator_api import Api

pytestmark = pytest.mark.anyio

_ITEM_KEYS = ["file_id", "url", "name", "size", "created_at", "meta", "characters", "languages"]


async def page_after(api: Api, item: dict[str, Any] | None, **params: Any) -> dict[str, Any]:
    cursor = {} if item is None else {"after_value": item["created_at"], "after_file_id": item["file_id"]}
    reply = await api.call("GET", "files", params={"limit": 2, **params, **cursor})
    assert reply.status == 200, reply.text
    return reply.json  # type: ignore[no-any-return]


async def test_total_follows_uploads_deletes_and_ingestion_between_pages(api: Api) -> None:
    ids = [(await api.upload(f"f{index}.txt", b"x")).json["file_id"] for index in range(5)]
    first = await page_after(api, None)
    assert (first["total"], first["has_more"]) == (5, True)
    assert (await page_after(api, None))["total"] == 5  # asked again: the same (cached) count
    await api.upload("late.txt", b"x")
    second = await page_after(api, first["data"][-1])
    assert second["total"] == 6
    assert (await api.call("DELETE", f"files/{ids[0]}")).status == 204
    third = await page_after(api, second["data"][-1])
    assert third["total"] == 5
    await api.upload("late.txt", b"y", write_mode="OVERWRITE")  # one replaced by one
    assert (await page_after(api, third["data"][-1]))["total"] == 5
    await api.upload_session({"a.txt": b"a", "b.txt": b"b"})  # files made by ingestion
    assert (await page_after(api, None))["total"] == 7
    names = [item["name"] for item in await api.list_all(limit=3)]
    assert names == ["f1.txt", "f2.txt", "f3.txt", "f4.txt", "late.txt", "a.txt", "b.txt"]


async def test_filtered_totals_follow_meta_updates(api: Api) -> None:
    ids = [(await api.upload(f"f{index}.txt", b"x", {"k": "a"})).json["file_id"] for index in range(3)]
    assert (await page_after(api, None, filter="k eq 'b'"))["total"] == 0
    assert (await page_after(api, None, filter="k eq 'a'"))["total"] == 3
    assert (await page_after(api, None, name="f1"))["total"] == 1
    reply = await api.call("POST", "files/update-meta", json={ids[0]: {"k": "b"}})
    assert reply.status == 200, reply.text
    assert (await page_after(api, None, filter="k eq 'b'"))["total"] == 1
    assert (await page_after(api, None, filter="k eq 'a'"))["total"] == 2
    assert (await page_after(api, None, name="f1"))["total"] == 1


async def test_totals_of_one_workspace_do_not_leak_into_another(
    api: Api, http: aiohttp.ClientSession
) -> None:
    other = Api(http, api.emulator, api.workspace + "-other")
    await api.upload("mine.txt", b"x")
    assert (await page_after(api, None))["total"] == 1
    assert (await page_after(other, None))["total"] == 0
    await other.upload("theirs.txt", b"x")
    await other.upload("theirs2.txt", b"x")
    assert ((await page_after(api, None))["total"], (await page_after(other, None))["total"]) == (1, 2)


async def test_page_body_keeps_the_exact_shape(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator(timestamp_style="+00:00")
    api = Api(http, emulator, 'my ws "ü"')
    names = ['quote " back\\slash', "tab\there", "ünïcode ☃.txt", "plain.txt"]
    metas: list[dict[str, Any]] = [
        {"nested": {"list": [1, "two", None]}, "unicode": "ü", "float": 1.5},
        {"text": 'with "quotes" and \\ and \n'},
        {},
        {"big": 2**62, "neg": -0.25, "flag": False},
    ]
    for name, meta in zip(names, metas, strict=True):
        await api.upload(name, name.encode(), meta)
    reply = await api.call("GET", "files", params={"limit": 3})
    assert reply.headers["Content-Type"] == "application/json; charset=utf-8"
    page = reply.json
    assert list(page) == ["total", "has_more", "data"]
    assert (page["total"], page["has_more"]) == (4, True)
    items = page["data"] + (await page_after(api, page["data"][-1], limit=3))["data"]
    for item, name, meta in zip(items, names, metas, strict=True):
        assert list(item) == _ITEM_KEYS
        assert str(uuid.UUID(item["file_id"])) == item["file_id"]
        assert item["url"] == f"/api/v1/workspaces/{api.workspace}/files/{item['file_id']}"
        assert (item["name"], item["size"], item["meta"]) == (name, len(name.encode()), meta)
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00", item["created_at"])
        assert (item["characters"], item["languages"]) == (0, None)
    empty = (await api.call("GET", "files", params={"name": "nothing"})).json
    assert empty == {"total": 0, "has_more": False, "data": []}


def test_keyset_pages_break_ties_in_created_at_by_file_id(tmp_path: Path) -> None:
    store = Store(tmp_path)
    try:
        store.create_workspace("ws")
        ids = sorted(str(uuid.uuid4()) for _ in range(7))
        with store.transaction() as db:  # all created in the same microsecond
            for file_id in ids:
                db.execute(
                    "INSERT INTO files VALUES (?, 'ws', ?, 1, 1000, '{}', NULL, x'00')", (file_id, file_id)
                )
        listed: list[str] = []
        after: tuple[int, str] | None = None
        while True:
            total, page, has_more = store.list_files(FileQuery(workspace="ws", limit=3, after=after))
            assert total == 7
            listed += [row[0] for row in page]
            if not has_more:
                break
            after = (page[-1][3], page[-1][0])
        assert listed == ids
        _, later, _ = store.list_files(FileQuery(workspace="ws", limit=10, after=(1000, "")))
        assert later == []  # a bare time cursor: strictly later files only
    finally:
        store.close()


def test_body_is_json_that_round_trips_every_stored_meta(tmp_path: Path) -> None:
    from deepset_cloud.emulator.http.files import _page_json

    meta = {"a": [1, 2.5, None, True], "ü": "\u2028 line separator", "e": ""}
    row = (str(uuid.uuid4()), "n\u0000ame", 3, 1_700_000_000_000_001, json.dumps(meta, ensure_ascii=False))
    body = json.loads(_page_json("w\\s", 10, [row], False, "Z"))
    assert body["data"][0]["meta"] == meta
    assert body["data"][0]["name"] == "n\u0000ame"
    assert body["data"][0]["url"] == f"/api/v1/workspaces/w\\s/files/{row[0]}"
    assert body["data"][0]["created_at"] == "2023-11-14T22:13:20.000001Z"
