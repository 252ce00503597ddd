"""Files endpoints (E1-E4, E10), workspaces and auth, over real loopback HTTP."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Callable

import aiohttp
import pytest

from deepset_cloud.emulator import ManualClock, ThreadedEmulator

from .emulator_api import Api

pytestmark = pytest.mark.anyio

_TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


async def test_direct_upload_then_list_download_and_meta(api: Api) -> None:
    reply = await api.upload("report.txt", b"hello world", {"category": "news"})
    file_id = reply.json["file_id"]
    assert str(uuid.UUID(file_id)) == file_id
    listing = (await api.list_files()).json
    assert listing["total"] == 1
    assert listing["has_more"] is False
    (item,) = listing["data"]
    assert item["file_id"] == file_id
    assert item["url"] == f"/api/v1/workspaces/{api.workspace}/files/{file_id}"
    assert item["name"] == "report.txt"
    assert item["size"] == 11
    assert item["meta"] == {"category": "news"}
    assert _TIMESTAMP.match(item["created_at"])
    download = await api.call("GET", f"files/{file_id}")
    assert (download.status, download.body) == (200, b"hello world")
    meta = await api.call("GET", f"files/{file_id}/meta")
    assert (meta.status, meta.json) == (200, {"category": "news"})


@pytest.mark.parametrize("order", ["file-first", "meta-first"])
@pytest.mark.parametrize(
    ("meta_text", "expected"), [("{}", {}), ("null", {}), ('{"a": [1, 2]}', {"a": [1, 2]})]
)
async def test_direct_upload_accepts_meta_in_any_order_and_form(
    api: Api, order: str, meta_text: str, expected: dict[str, object]
) -> None:
    form = aiohttp.FormData()
    if order == "meta-first":
        form.add_field("meta", meta_text)
    form.add_field("file", b"x", filename="a.pdf", content_type="application/pdf")
    if order == "file-first":
        form.add_field("meta", meta_text)
    reply = await api.call("POST", "files", params={"write_mode": "KEEP"}, data=form)
    assert reply.status == 201, reply.text
    (item,) = (await api.list_files()).json["data"]
    assert (item["name"], item["meta"]) == ("a.pdf", expected)


async def test_direct_upload_legacy_text_field_multipart_and_urlencoded(api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field("text", "multipart text")
    form.add_field("meta", '{"k": 1}')
    reply = await api.call("POST", "files", params={"write_mode": "KEEP", "file_name": "one.txt"}, data=form)
    assert reply.status == 201, reply.text
    reply = await api.call(
        "POST",
        "files",
        params={"write_mode": "KEEP", "file_name": "two.txt"},
        data={"text": "form text", "meta": "{}"},
    )
    assert reply.status == 201, reply.text
    items = {i["name"]: i for i in await api.list_all()}
    assert set(items) == {"one.txt", "two.txt"}
    assert items["one.txt"]["meta"] == {"k": 1}
    body = await api.call("GET", f"files/{items['two.txt']['file_id']}")
    assert body.body == b"form text"


async def test_direct_upload_keeps_a_percent_sign_and_unicode_name(api: Api) -> None:
    await api.upload("50% ünïcode #1.txt", b"data")
    (item,) = await api.list_all()
    assert item["name"] == "50% ünïcode #1.txt"


async def test_direct_upload_write_modes(api: Api) -> None:
    first = (await api.upload("same.txt", b"one")).json["file_id"]
    await api.upload("same.txt", b"two", write_mode="KEEP")
    assert [i["name"] for i in await api.list_all()] == ["same.txt", "same.txt"]
    conflict = await api.upload("same.txt", b"three", write_mode="FAIL", expect=409)
    assert "already exists" in conflict.json["errors"][0]
    newest = (await api.upload("same.txt", b"four", write_mode="OVERWRITE")).json["file_id"]
    (item,) = await api.list_all()
    assert item["file_id"] == newest != first
    assert (await api.call("GET", f"files/{newest}")).body == b"four"
    assert (await api.call("GET", f"files/{first}")).status == 404


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            b'--b\r\nContent-Disposition: form-data; name="file"; filename="a"\r\n\r\nunterminated',
            "multipart/form-data; boundary=b",
            "Malformed multipart",
        ),
        (b"anything", "multipart/form-data", "Malformed multipart"),
        (
            b'--b\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{not json\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "not valid JSON",
        ),
        (
            b'--b\r\nContent-Disposition: form-data; name="meta"\r\n\r\n{}\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            "no 'file' part",
        ),
        (b'{"a": 1}', "application/json", "Expected a multipart"),
    ],
)
async def test_direct_upload_rejects_bad_bodies(
    api: Api, body: bytes, content_type: str, message: str
) -> None:
    reply = await api.call("POST", "files", data=body, headers={"Content-Type": content_type})
    assert reply.status in (400, 415)
    assert message in reply.json["errors"][0]
    assert (await api.list_files()).json["total"] == 0


async def test_direct_upload_rejects_meta_that_is_not_an_object_and_bad_write_mode(api: Api) -> None:
    form = aiohttp.FormData()
    form.add_field("file", b"x", filename="a.txt")
    form.add_field("meta", "[1, 2]")
    reply = await api.call("POST", "files", data=form)
    assert reply.status == 400
    assert "JSON object" in reply.json["errors"][0]
    reply = await api.call("POST", "files", params={"write_mode": "SOMETIMES"}, data={"text": "x"})
    assert reply.status == 400
    assert "write_mode" in reply.json["errors"][0]


async def test_direct_upload_too_large_is_413(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    api = Api(http, deepset_make_emulator(max_direct_upload_bytes=1000), "ws")
    reply = await api.upload("big.bin", b"x" * 1001, expect=413)
    assert "too large" in reply.json["errors"][0]
    await api.upload("ok.bin", b"x" * 1000)
    assert [i["name"] for i in await api.list_all()] == ["ok.bin"]
    assert list((api.emulator.data_dir / "spool").iterdir()) == []  # the rejected body left nothing behind


async def test_unknown_file_is_404_and_delete(api: Api) -> None:
    missing = str(uuid.uuid4())
    for path in (f"files/{missing}", f"files/{missing}/meta"):
        reply = await api.call("GET", path)
        assert reply.status == 404
        assert "not found" in reply.json["errors"][0]
    assert (await api.call("DELETE", f"files/{missing}")).status == 404
    file_id = (await api.upload("gone.txt", b"x")).json["file_id"]
    assert (await api.call("DELETE", f"files/{file_id}")).status == 204
    assert (await api.call("GET", f"files/{file_id}")).status == 404
    assert (await api.list_files()).json["total"] == 0


async def test_list_name_substring_content_and_total(api: Api) -> None:
    await api.upload("alpha-report.txt", b"the quick brown fox")
    await api.upload("beta-report.md", b"lazy dog")
    await api.upload("Gamma.txt", b"quick")
    names = {i["name"] for i in (await api.list_files(name="report")).json["data"]}
    assert names == {"alpha-report.txt", "beta-report.md"}
    assert (await api.list_files(name="gamma")).json["total"] == 0  # case-sensitive
    page = (await api.list_files(content="quick", limit=1)).json
    assert (page["total"], len(page["data"]), page["has_more"]) == (2, 1, True)


async def test_list_odata_filter_through_http(api: Api) -> None:
    await api.upload("a.txt", b"a", {"category": "news", "year": 2021})
    await api.upload("b.txt", b"b", {"category": "news", "year": 2019})
    await api.upload("c.txt", b"c", {"category": "blog", "year": 2023})
    await api.upload("d.txt", b"d", {})

    async def names(odata: str) -> set[str]:
        reply = await api.list_files(filter=odata)
        assert reply.status == 200, reply.text
        assert reply.json["total"] == len(reply.json["data"])
        return {i["name"] for i in reply.json["data"]}

    assert await names("category eq 'news'") == {"a.txt", "b.txt"}
    assert await names("category eq 'news' and year ge 2020") == {"a.txt"}
    assert await names("year gt 2020 or category eq 'news'") == {"a.txt", "b.txt", "c.txt"}
    assert await names('category eq "blog"') == {"c.txt"}
    assert await names("category eq 'news' ") == {"a.txt", "b.txt"}  # trailing space as the SDK's tests send
    assert await names("   ") == {"a.txt", "b.txt", "c.txt", "d.txt"}  # blank filter means no filter
    reply = await api.list_files(filter="category eq")
    assert reply.status == 400
    assert reply.json["errors"][0].startswith("Invalid filter")


@pytest.mark.parametrize(
    "render",
    [
        lambda ts: ts,  # Z form as emitted
        lambda ts: ts.replace("Z", "+00:00"),  # Python isoformat() of an aware datetime
        lambda ts: ts.replace("Z", " 00:00"),  # '+' that lost its percent-encoding
        lambda ts: ts.replace("Z", ""),  # naive
        lambda ts: ts[:19] + "+00:00" if ts[20:26] == "000000" else ts,  # fraction dropped at .000000
    ],
)
async def test_list_cursor_accepts_every_datetime_form(api: Api, render: Callable[[str], str]) -> None:
    for index in range(5):
        await api.upload(f"f{index}.txt", b"x")
    first = (await api.list_files(limit=2)).json
    assert first["has_more"] is True
    last = first["data"][-1]
    params = {"limit": 100, "after_value": render(last["created_at"]), "after_file_id": last["file_id"]}
    rest = (await api.call("GET", "files", params=params)).json
    assert [i["name"] for i in rest["data"]] == ["f2.txt", "f3.txt", "f4.txt"]
    assert rest["has_more"] is False
    assert rest["total"] == 5


async def test_list_cursor_with_a_literal_space_in_the_query_string(api: Api) -> None:
    await api.upload("one.txt", b"1")
    await api.upload("two.txt", b"2")
    (first,) = (await api.list_files(limit=1)).json["data"]
    value = first["created_at"].replace("Z", "+00:00")  # sent unencoded: '+' decodes to a space
    url = api.url(f"files?limit=10&after_value={value}&after_file_id={first['file_id']}")
    reply = await api.raw("GET", url, headers=api.auth)
    assert [i["name"] for i in reply.json["data"]] == ["two.txt"]


async def test_search_index_lag(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    clock = ManualClock()
    api = Api(http, deepset_make_emulator(search_index_lag_s=30, clock=clock), "ws")
    await api.upload("a.txt", b"needle", {"k": "v"})
    assert (await api.list_files()).json["total"] == 1  # plain listing sees it at once
    assert (await api.list_files(name="a.t")).json["total"] == 1
    assert (await api.list_files(filter="k eq 'v'")).json["total"] == 0  # the index lags
    assert (await api.list_files(content="needle")).json["total"] == 0
    clock.advance(29.9)
    assert (await api.list_files(filter="k eq 'v'")).json["total"] == 0
    clock.advance(0.1)  # indexed search_index_lag_s after its creation
    assert (await api.list_files(filter="k eq 'v'")).json["total"] == 1
    assert (await api.list_files(content="needle")).json["total"] == 1


async def test_list_cursor_without_file_id_means_strictly_later(api: Api) -> None:
    for index in range(3):
        await api.upload(f"f{index}.txt", b"x")
    first, *_ = (await api.list_files()).json["data"]
    rest = (await api.call("GET", "files", params={"after_value": first["created_at"]})).json
    assert [i["name"] for i in rest["data"]] == ["f1.txt", "f2.txt"]


async def test_list_rejects_bad_parameters(api: Api) -> None:
    for params in ({"limit": "0"}, {"limit": "ten"}, {"after_value": "yesterday", "after_file_id": "x"}):
        reply = await api.call("GET", "files", params=params)
        assert reply.status == 400, params
        assert reply.json["errors"]


async def test_timestamp_style_plus_offset(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    api = Api(http, deepset_make_emulator(timestamp_style="+00:00"), "ws")
    await api.upload("a.txt", b"x")
    (item,) = await api.list_all()
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}\+00:00$", item["created_at"])
    session = await api.create_session()
    assert session["expires_at"].endswith("+00:00")


async def test_auth_is_required_and_client_source_ignored(api: Api) -> None:
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": api.emulator.api_key}):
        reply = await api.raw("GET", api.url("files"), headers=headers)
        assert reply.status == 401
        assert reply.json["errors"]
    reply = await api.call("GET", "files", headers={"X-Client-Source": "deepset-cloud-sdk"})
    assert reply.status == 200
    unknown = await api.call("GET", "no-such-endpoint")
    assert unknown.status == 404
    assert unknown.json["errors"]


async def test_workspaces_are_isolated(api: Api, http: aiohttp.ClientSession) -> None:
    file_id = (await api.upload("mine.txt", b"x")).json["file_id"]
    other = Api(http, api.emulator, api.workspace + "-other")
    assert (await other.list_files()).json["total"] == 0
    assert (await other.call("GET", f"files/{file_id}")).status == 404


async def test_create_and_delete_workspace(api: Api) -> None:
    base = f"{api.emulator.api_url}/workspaces"
    name = api.workspace
    created = await api.raw("POST", base, json={"name": name}, headers=api.auth)
    assert created.status == 201
    again = await api.raw("POST", base, json={"name": name}, headers=api.auth)
    assert again.status == 409
    assert "already exists" in again.json["errors"][0]
    await api.upload("a.txt", b"x")
    session = await api.create_session()
    deleted = await api.raw("DELETE", f"{base}/{name}", headers=api.auth)
    assert deleted.status == 204
    assert (await api.raw("DELETE", f"{base}/{name}", headers=api.auth)).status == 404
    assert (await api.list_files()).json["total"] == 0  # recreated empty on first use
    assert (await api.call("GET", f"upload_sessions/{session['session_id']}")).status == 404
    bad = await api.raw("POST", base, json={"nom": "x"}, headers=api.auth)
    assert bad.status == 400


async def test_unknown_workspace_is_404_without_auto_create(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    api = Api(http, deepset_make_emulator(auto_create_workspaces=False), "nope")
    reply = await api.list_files()
    assert reply.status == 404
    assert "not found" in reply.json["errors"][0]
    created = await api.raw(
        "POST", f"{api.emulator.api_url}/workspaces", json={"name": "nope"}, headers=api.auth
    )
    assert created.status == 201
    assert (await api.list_files()).status == 200


async def test_meta_is_stored_verbatim_json(api: Api) -> None:
    meta = {"nested": {"list": [1, "two", None]}, "unicode": "ü", "float": 1.5}
    file_id = (await api.upload("m.txt", b"x", meta)).json["file_id"]
    assert json.loads((await api.call("GET", f"files/{file_id}/meta")).body) == meta
