"""The admin API under /_emulator/ and fault injection through it."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp
import anyio
import pytest

from deepset_cloud.emulator import ThreadedEmulator

from .emulator_api import Api

pytestmark = pytest.mark.anyio


@pytest.fixture
def private(http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]) -> Api:
    """An emulator of its own: these tests change global state (faults, config, reset)."""
    return Api(http, deepset_make_emulator(), "ws")


async def test_admin_requires_its_own_token(private: Api) -> None:
    url = f"{private.emulator.base_url}/_emulator/stats"
    for headers in ({}, private.auth, {"Authorization": "Bearer nope"}):
        reply = await private.raw("GET", url, headers=headers)
        assert reply.status == 401
        assert reply.json["errors"]
    assert (await private.admin("GET", "stats")).status == 200
    # ...and the admin token is not an API key.
    reply = await private.raw(
        "GET", private.url("files"), headers={"Authorization": f"Bearer {private.emulator.admin_token}"}
    )
    assert reply.status == 401


async def test_stats_count_requests_per_route_and_stored_items(private: Api) -> None:
    await private.upload("a.txt", b"x")
    await private.list_files()
    await private.list_files()
    session = await private.create_session()
    await private.s3_post(session, "b.txt", b"y")
    stats = (await private.admin("GET", "stats")).json
    assert stats["requests"]["list_files"] == 2
    assert stats["requests"]["direct_upload"] == 1
    assert stats["requests"]["create_session"] == 1
    assert stats["requests"]["s3_post"] == 1
    assert (stats["files_stored"], stats["objects_stored"], stats["s3_objects_received"]) == (1, 1, 1)
    assert stats["s3_requests_with_authorization"] == 0


async def test_faults_set_get_and_clear(private: Api) -> None:
    specs = [{"route": "list_files", "status": 429, "retry_after": 2, "count": 2}, "route=s3_post,status=503"]
    reply = await private.admin("POST", "faults", json=specs)
    assert reply.status == 200, reply.text
    listed = (await private.admin("GET", "faults")).json["faults"]
    assert [(f["route"], f["status"], f["count"]) for f in listed] == [
        ("list_files", 429, 2),
        ("s3_post", 503, None),
    ]
    for _ in range(2):
        limited = await private.list_files()
        assert limited.status == 429
        assert limited.headers["Retry-After"] == "2"
        assert limited.json["errors"]
    assert (await private.list_files()).status == 200  # count exhausted
    session = await private.create_session()
    s3 = await private.s3_post(session, "a.txt", b"x")
    assert s3.status == 503
    assert "<Code>SlowDown</Code>" in s3.text
    stats = (await private.admin("GET", "stats")).json
    assert stats["faults_injected"] == 3
    assert (await private.admin("DELETE", "faults")).status == 204
    assert (await private.admin("GET", "faults")).json == {"faults": []}
    assert (await private.s3_post(session, "a.txt", b"x")).status == 204


@pytest.mark.parametrize(
    "body",
    [
        {"route": "nowhere", "status": 500},
        [{"route": "list_files", "status": 200}],
        ["route=list_files,bogus=1"],
        [42],
    ],
)
async def test_invalid_faults_are_400(private: Api, body: object) -> None:
    reply = await private.admin("POST", "faults", json=body)
    assert reply.status == 400
    assert reply.json["errors"]
    assert (await private.admin("GET", "faults")).json == {"faults": []}


async def test_dropped_connection_and_latency(private: Api) -> None:
    await private.admin("POST", "faults", json=[{"route": "direct_upload", "drop": True, "count": 1}])
    # (A POST: aiohttp's client silently retries an idempotent request once after a disconnect.)
    with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
        await private.upload("a.txt", b"x")
    await private.upload("a.txt", b"x")
    assert len(await private.list_all()) == 1  # the dropped request stored nothing
    await private.admin("POST", "faults", json=[{"route": "download", "drop": True, "count": 1}])
    file_id = (await private.list_all())[0]["file_id"]
    stream = await anyio.connect_tcp("127.0.0.1", private.emulator.emulator.port)
    request = f"GET /api/v1/workspaces/ws/files/{file_id} HTTP/1.1\r\nHost: x\r\n"
    await stream.send(f"{request}Authorization: Bearer {private.emulator.api_key}\r\n\r\n".encode())
    with pytest.raises(anyio.EndOfStream):  # closed without a status line
        await stream.receive()
    await stream.aclose()
    assert (await private.call("GET", f"files/{file_id}")).body == b"x"
    await private.admin("POST", "faults", json=[{"route": "*", "latency_s": 0.01}])
    assert (await private.list_files()).status == 200  # latency only delays
    assert (await private.admin("GET", "stats")).json["faults"]["specs"][0]["injected"] == 1


async def test_config_get_and_patch(private: Api) -> None:
    config = (await private.admin("GET", "config")).json
    assert config["max_open_sessions"] == 10
    assert private.emulator.api_key not in str(config)
    assert private.emulator.admin_token not in str(config)
    patched = await private.admin("PATCH", "config", json={"max_open_sessions": 1, "ingest_delay_s": 0})
    assert patched.status == 200
    assert patched.json["max_open_sessions"] == 1
    await private.create_session()
    assert (await private.call("POST", "upload_sessions", json={})).status == 409
    for bad in ({"data_dir": "/tmp"}, {"max_open_sessions": "many"}, {"max_open_sessions": 0}, {"nope": 1}):
        reply = await private.admin("PATCH", "config", json=bad)
        assert reply.status == 400, bad
        assert reply.json["errors"]


async def test_config_seen_from_python_follows_patches_over_http(private: Api) -> None:
    await private.admin("PATCH", "config", json={"max_open_sessions": 3, "api_keys": ["rotated"]})
    assert private.emulator.config.max_open_sessions == 3
    assert private.emulator.api_key == "rotated"
    private.emulator.configure(ingest_delay_s=0.5)
    assert (await private.admin("GET", "config")).json["ingest_delay_s"] == 0.5
    private.emulator.stop()
    assert private.emulator.config.max_open_sessions == 3  # runtime changes outlive the stop


async def test_api_keys_can_be_rotated_at_runtime(private: Api) -> None:
    await private.admin("PATCH", "config", json={"api_keys": ["rotated"]})
    assert (await private.list_files()).status == 401
    reply = await private.raw("GET", private.url("files"), headers={"Authorization": "Bearer rotated"})
    assert reply.status == 200


async def test_reset_forgets_everything(private: Api) -> None:
    await private.upload("a.txt", b"x")
    session = await private.create_session()
    await private.admin("POST", "faults", json=[{"route": "list_sessions", "status": 500}])
    assert (await private.admin("POST", "reset")).status == 204
    assert (await private.list_files()).json["total"] == 0
    assert (await private.call("GET", f"upload_sessions/{session['session_id']}")).status == 404
    stats = (await private.admin("GET", "stats")).json
    assert (stats["files_stored"], stats["objects_stored"], stats["sessions"]) == (0, 0, 0)
    assert (await private.call("GET", "upload_sessions")).status == 200  # faults are gone too
    blobs = [p for p in (private.emulator.data_dir / "blobs").rglob("*") if p.is_file()]
    assert blobs == []


async def test_threaded_helpers_match_the_admin_api(private: Api) -> None:
    private.emulator.set_faults(["route=list_files,status=502,count=1"])
    assert (await private.list_files()).status == 502
    assert private.emulator.stats()["faults_injected"] == 1
    private.emulator.configure(max_files_per_session=1)
    assert (await private.admin("GET", "config")).json["max_files_per_session"] == 1
    with pytest.raises(ValueError, match="cannot be changed"):
        private.emulator.configure(data_dir="/elsewhere")
    private.emulator.reset()
    assert private.emulator.stats()["requests"] == {}


async def test_faults_from_config_are_seeded_and_deterministic(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    async def statuses(seed: int) -> list[int]:
        emulator = deepset_make_emulator(seed=seed, faults=("route=list_files,rate=0.5,status=503",))
        api = Api(http, emulator, "ws")
        result = [(await api.list_files()).status for _ in range(20)]
        emulator.stop()
        return result

    first = await statuses(7)
    assert set(first) == {200, 503}
    assert await statuses(7) == first
