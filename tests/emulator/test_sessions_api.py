"""Upload session endpoints (E5, E7, E8, E9, E11) and their error cases."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime, timedelta

import aiohttp
import pytest

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.emulator.clock import ManualClock

from .emulator_api import Api

pytestmark = pytest.mark.anyio


def _parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


async def test_create_session_shape(api: Api) -> None:
    reply = await api.call(
        "POST", "upload_sessions", json={"write_mode": "OVERWRITE", "parallel_processing_enabled": True}
    )
    assert reply.status == 201
    body = reply.json
    assert set(body) == {"session_id", "documentation_url", "expires_at", "aws_prefixed_request_config"}
    assert str(uuid.UUID(body["session_id"])) == body["session_id"]
    assert body["documentation_url"].startswith("https://")
    assert set(body["aws_prefixed_request_config"]) == {"url", "fields"}
    listed = (await api.call("GET", "upload_sessions")).json["data"][0]
    lifetime = _parse(listed["expires_at"]) - _parse(listed["created_at"])
    assert lifetime == timedelta(hours=24)
    assert listed["expires_at"] == body["expires_at"]


@pytest.mark.parametrize("body", [None, {}, {"write_mode": "KEEP"}])
async def test_create_session_defaults_to_keep(api: Api, body: dict[str, str] | None) -> None:
    reply = await api.call("POST", "upload_sessions", json=body)
    assert reply.status == 201, reply.text
    (listed,) = (await api.call("GET", "upload_sessions")).json["data"]
    assert listed["write_mode"] == "KEEP"


@pytest.mark.parametrize(
    "body", [b"[1]", b"{not json", b'{"write_mode": "MAYBE"}', b'{"parallel_processing_enabled": "yes"}']
)
async def test_create_session_rejects_bad_bodies(api: Api, body: bytes) -> None:
    reply = await api.call("POST", "upload_sessions", data=body, headers={"Content-Type": "application/json"})
    assert reply.status == 400
    assert reply.json["errors"]


async def test_list_sessions_pages_statuses_and_write_modes(api: Api) -> None:
    created = [await api.create_session(mode) for mode in ("KEEP", "OVERWRITE", "FAIL")]
    await api.close(created[1]["session_id"])
    page1 = (await api.call("GET", "upload_sessions", params={"limit": 2, "page_number": 1})).json
    page2 = (await api.call("GET", "upload_sessions", params={"limit": 2, "page_number": 2})).json
    assert (page1["total"], page1["has_more"], page2["has_more"]) == (3, True, False)
    items = page1["data"] + page2["data"]
    assert [i["session_id"] for i in items] == [s["session_id"] for s in created]
    assert [i["write_mode"] for i in items] == ["KEEP", "OVERWRITE", "FAIL"]
    assert [i["status"] for i in items] == ["OPEN", "CLOSED", "OPEN"]
    assert set(items[0]["created_by"]) == {"user_id", "given_name", "family_name"}
    assert api.emulator.api_key not in str(items)
    expired_only = (await api.call("GET", "upload_sessions", params={"is_expired": "true"})).json
    assert (expired_only["total"], expired_only["data"]) == (0, [])
    not_expired = (await api.call("GET", "upload_sessions", params={"is_expired": "false"})).json
    assert not_expired["total"] == 3
    bad = await api.call("GET", "upload_sessions", params={"page_number": "0"})
    assert bad.status == 400


async def test_expired_sessions(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    clock = ManualClock()
    emulator = deepset_make_emulator(session_ttl_s=60, clock=clock)
    api = Api(http, emulator, "ws")
    session = await api.create_session()
    assert (await api.s3_post(session, "a.txt", b"never ingested")).status == 204
    clock.advance(59.999)
    assert (await api.call("GET", "upload_sessions", params={"is_expired": "true"})).json["total"] == 0
    clock.advance(0.001)  # expiry is at creation + session_ttl_s exactly
    assert (await api.call("GET", "upload_sessions", params={"is_expired": "true"})).json["total"] == 1
    (listed,) = (await api.call("GET", "upload_sessions")).json["data"]
    assert listed["status"] == "EXPIRED"
    reply = await api.close(session["session_id"], expect=409)
    assert "expired" in reply.json["errors"][0]
    status = await api.status(session["session_id"])
    assert status["ingestion_status"] == {"failed_files": 0, "finished_files": 0}
    assert await api.list_all() == []  # objects of an expired, never-closed session are not ingested
    # The periodic sweep frees their disk space.
    store = emulator.emulator.state.store
    assert emulator.call(lambda: store.sweep_expired_objects(clock.now_us())) == 1
    assert [p for p in (emulator.data_dir / "blobs").rglob("*") if p.is_file()] == []
    # Expired sessions do not count against the open-session limit.
    emulator.configure(max_open_sessions=1, session_ttl_s=3600)
    await api.create_session()


async def test_close_twice_unknown_and_foreign_sessions(api: Api, http: aiohttp.ClientSession) -> None:
    session = await api.create_session()
    session_id = session["session_id"]
    await api.close(session_id)
    again = await api.close(session_id, expect=409)
    assert "already closed" in again.json["errors"][0]
    unknown = str(uuid.uuid4())
    for method, path in (
        ("PUT", f"upload_sessions/{unknown}"),
        ("GET", f"upload_sessions/{unknown}"),
        ("GET", f"upload_sessions/{unknown}/files"),
    ):
        reply = await api.call(method, path, json={"status": "CLOSED"} if method == "PUT" else None)
        assert reply.status == 404
        assert "not found" in reply.json["errors"][0]
    other = Api(http, api.emulator, api.workspace + "-other")
    assert (await other.call("GET", f"upload_sessions/{session_id}")).status == 404
    assert (await other.close(session_id, expect=404)).status == 404
    bad = await api.call(
        "PUT", f"upload_sessions/{(await api.create_session())['session_id']}", json={"status": "OPEN"}
    )
    assert bad.status == 400


async def test_max_open_sessions(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    api = Api(http, deepset_make_emulator(max_open_sessions=2), "ws")
    first = await api.create_session()
    await api.create_session()
    reply = await api.call("POST", "upload_sessions", json={"write_mode": "KEEP"})
    assert reply.status == 409
    assert "open upload sessions" in reply.json["errors"][0]
    await api.with_emulator(api.emulator, "other-ws").create_session()  # the limit is per workspace
    await api.close(first["session_id"])
    await api.create_session()  # closing frees a slot


async def test_open_session_limit_per_account(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator(
        api_keys=("key-a", "key-b"), max_open_sessions=2, open_session_scope="account"
    )
    alice = Api(http, emulator, "ws-1")
    bob = Api(http, emulator, "ws-1")
    bob.auth = {"Authorization": "Bearer key-b"}
    first = await alice.create_session()
    await alice.with_emulator(emulator, "ws-2").create_session()
    reply = await alice.with_emulator(emulator, "ws-3").call("POST", "upload_sessions", json={})
    assert reply.status == 409
    assert "Your account already has 2 open upload sessions (limit 2)" in reply.json["errors"][0]
    await bob.create_session()  # another account (key) has its own limit, in the same workspace too
    await bob.create_session()
    await alice.close(first["session_id"])
    await alice.with_emulator(emulator, "ws-3").create_session()
    # Back to the documented per-workspace count at runtime: ws-1 now holds bob's two open sessions.
    emulator.configure(open_session_scope="workspace", max_open_sessions=3)
    await alice.create_session()
    assert (await alice.call("POST", "upload_sessions", json={})).status == 409


async def test_status_and_per_file_listing(api: Api) -> None:
    session = await api.create_session()
    for name, body in (("a.txt", b"a"), ("a.txt.meta.json", b'{"k": 1}'), ("b.txt", b"")):
        assert (await api.s3_post(session, name, body)).status == 204
    pending = await api.session_files(session["session_id"])
    assert [(f["name"], f["ingestion_status"]) for f in pending["data"]] == [
        ("a.txt", "PENDING"),
        ("b.txt", "PENDING"),
    ]
    await api.close(session["session_id"])
    counts = await api.wait_ingested(session["session_id"], 2)
    assert counts == {"failed_files": 1, "finished_files": 1}
    status = await api.status(session["session_id"])
    assert set(status) == {"session_id", "expires_at", "documentation_url", "ingestion_status"}
    files = await api.session_files(session["session_id"])
    assert {f["name"]: (f["ingestion_status"], f["ingestion_status_reason"]) for f in files["data"]} == {
        "a.txt": ("FINISHED", None),
        "b.txt": ("FAILED", "EMPTY_FILE"),
    }
    assert all(str(uuid.UUID(f["file_ingestion_id"])) == f["file_ingestion_id"] for f in files["data"])
    failed = await api.session_files(session["session_id"], ingestion_status="FAILED")
    assert [f["name"] for f in failed["data"]] == ["b.txt"]
    paged = await api.session_files(session["session_id"], limit=1, page_number=2)
    assert (paged["total"], paged["has_more"], [f["name"] for f in paged["data"]]) == (2, False, ["b.txt"])
    bad = await api.call(
        "GET", f"upload_sessions/{session['session_id']}/files", params={"ingestion_status": "DONE"}
    )
    assert bad.status == 400
