"""`POST files/update-meta` and `DELETE files/{id}` over real loopback HTTP."""

from __future__ import annotations

import uuid

import pytest

from deepset_cloud.emulator import ThreadedEmulator

from .emulator_api import Api

pytestmark = pytest.mark.anyio


async def _meta(api: Api, file_id: str) -> object:
    reply = await api.call("GET", f"files/{file_id}/meta")
    assert reply.status == 200, reply.text
    return reply.json


async def test_update_meta_merges_and_removes_keys(api: Api) -> None:
    first = (await api.upload("a.txt", b"a", {"keep": 1, "drop": "x", "nulled": True})).json["file_id"]
    second = (await api.upload("b.txt", b"b", {"lang": "en"})).json["file_id"]
    body = {
        first: {"drop": "None", "nulled": None, "added": ["p", "q"], "keep": 2},
        second.upper(): {"lang": "de"},  # ids are UUIDs: any spelling names the same file
    }
    reply = await api.call("POST", "files/update-meta", json=body)
    assert reply.status == 200, reply.text
    assert reply.json == {"failed_count": 0, "failed_files": []}
    assert await _meta(api, first) == {"keep": 2, "added": ["p", "q"]}
    assert await _meta(api, second) == {"lang": "de"}
    # Listing and OData see the new meta at once.
    listed = {i["name"]: i["meta"] for i in await api.list_all()}
    assert listed == {"a.txt": {"keep": 2, "added": ["p", "q"]}, "b.txt": {"lang": "de"}}
    found = await api.list_all(filter="lang eq 'de'")
    assert [i["name"] for i in found] == ["b.txt"]
    assert await api.list_all(filter="drop eq 'x'") == []


async def test_update_meta_reports_unknown_ids_and_updates_the_rest(api: Api) -> None:
    file_id = (await api.upload("a.txt", b"a")).json["file_id"]
    missing = str(uuid.uuid4())
    reply = await api.call("POST", "files/update-meta", json={missing: {"k": 1}, file_id: {"k": 2}})
    assert reply.status == 200, reply.text
    assert reply.json["failed_count"] == 1
    (failure,) = reply.json["failed_files"]
    assert failure["file_id"] == missing
    assert failure["error_type"] == "FILE_NOT_FOUND"
    assert missing in failure["error_message"]
    assert await _meta(api, file_id) == {"k": 2}


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (b"{not json", 400, "not valid JSON"),
        (b"[1, 2]", 422, "JSON object"),
        (b'{"not-a-uuid": {"k": 1}}', 422, "not a file id"),
        (b'{"%s": "flat"}' % str(uuid.uuid4()).encode(), 422, "must be a JSON object"),
    ],
)
async def test_update_meta_rejects_bad_bodies_whole(api: Api, body: bytes, status: int, needle: str) -> None:
    file_id = (await api.upload("a.txt", b"a", {"k": 0})).json["file_id"]
    if b"not-a-uuid" in body:  # a valid entry beside the invalid one is not applied either
        body = body[:-1] + b', "%s": {"k": 9}}' % file_id.encode()
    reply = await api.call(
        "POST", "files/update-meta", data=body, headers={"Content-Type": "application/json"}
    )
    assert reply.status == status, reply.text
    assert needle in reply.json["errors"][0]
    assert await _meta(api, file_id) == {"k": 0}


async def test_update_meta_and_delete_need_the_api_key(api: Api) -> None:
    file_id = (await api.upload("a.txt", b"a")).json["file_id"]
    reply = await api.call("POST", "files/update-meta", auth=False, json={file_id: {"k": 1}})
    assert reply.status == 401
    assert "API key" in reply.json["errors"][0]
    assert (await api.call("DELETE", f"files/{file_id}", auth=False)).status == 401
    assert await _meta(api, file_id) == {}


async def test_delete_file_answers_204_then_404(api: Api) -> None:
    keep = (await api.upload("keep.txt", b"k")).json["file_id"]
    gone = (await api.upload("gone.txt", b"x" * 200_000)).json["file_id"]  # a blob file, not inline
    reply = await api.call("DELETE", f"files/{gone}")
    assert (reply.status, reply.body) == (204, b"")
    again = await api.call("DELETE", f"files/{gone}")
    assert again.status == 404
    assert gone in again.json["errors"][0]
    assert (await api.call("DELETE", "files/not-a-uuid")).status == 404
    assert [i["file_id"] for i in await api.list_all()] == [keep]
    assert (await api.call("POST", "files/update-meta", json={gone: {"k": 1}})).json["failed_count"] == 1


async def test_delete_in_another_workspace_is_404(api: Api) -> None:
    file_id = (await api.upload("a.txt", b"a")).json["file_id"]
    other = Api(api.http, api.emulator, f"other-{uuid.uuid4().hex[:8]}")
    assert (await other.call("DELETE", f"files/{file_id}")).status == 404
    assert (await other.call("POST", "files/update-meta", json={file_id: {"k": 1}})).json["failed_count"] == 1
    assert await _meta(api, file_id) == {}


async def test_faults_and_stats_cover_both_routes(api: Api, deepset_emulator: ThreadedEmulator) -> None:
    file_id = (await api.upload("a.txt", b"a")).json["file_id"]
    before = deepset_emulator.stats()["requests"]
    deepset_emulator.set_faults(
        [
            {"route": "update_meta", "status": 503, "count": 1, "retry_after": 1},
            {"route": "delete_file", "status": 500, "count": 1},
        ]
    )
    failed = await api.call("POST", "files/update-meta", json={file_id: {"k": 1}})
    assert failed.status == 503
    assert failed.headers["Retry-After"] == "1"
    assert (await api.call("DELETE", f"files/{file_id}")).status == 500
    assert await _meta(api, file_id) == {}  # the injected failures changed nothing
    assert (await api.call("POST", "files/update-meta", json={file_id: {"k": 1}})).status == 200
    assert (await api.call("DELETE", f"files/{file_id}")).status == 204
    after = deepset_emulator.stats()
    assert after["requests"]["update_meta"] - before.get("update_meta", 0) == 2
    assert after["requests"]["delete_file"] - before.get("delete_file", 0) == 2
    assert after["faults"]  # the snapshot lists the specs that fired
