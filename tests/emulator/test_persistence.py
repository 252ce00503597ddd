"""State survives a restart on the same data dir; pagination is exhaustive under concurrent inserts."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp
import anyio
import pytest

from deepset_cloud.emulator import ThreadedEmulator

from .emulator_api import Api

pytestmark = pytest.mark.anyio


def _retarget(session: dict[str, Any], emulator: ThreadedEmulator) -> dict[str, Any]:
    """The same session config, pointing at a restarted emulator (new port)."""
    config = {**session["aws_prefixed_request_config"], "url": emulator.s3_url}
    return {**session, "aws_prefixed_request_config": config}


async def test_files_sessions_and_objects_survive_a_restart(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Path
) -> None:
    data_dir = tmp_path / "state"
    first = Api(http, deepset_make_emulator(data_dir=data_dir), "ws")
    file_id = (await first.upload("kept.txt", b"kept bytes", {"k": "v"})).json["file_id"]
    done = await first.upload_session({"ingested.txt": b"ingested"}, "OVERWRITE")
    open_session = await first.create_session("FAIL")
    assert (await first.s3_post(open_session, "pending.txt", b"posted just before the stop")).status == 204
    before = await first.list_all()
    first.emulator.stop()

    second = Api(http, deepset_make_emulator(data_dir=data_dir), "ws")
    assert await second.list_all() == before
    assert (await second.call("GET", f"files/{file_id}")).body == b"kept bytes"
    assert (await second.call("GET", f"files/{file_id}/meta")).json == {"k": "v"}
    sessions = {s["session_id"]: s for s in (await second.call("GET", "upload_sessions")).json["data"]}
    assert sessions[done["session_id"]]["status"] == "CLOSED"
    assert sessions[done["session_id"]]["write_mode"] == "OVERWRITE"
    assert sessions[open_session["session_id"]]["status"] == "OPEN"
    assert (await second.status(done["session_id"]))["ingestion_status"]["finished_files"] == 1
    # The presigned fields stay valid (the signing secret lives in the data dir) and the object is there.
    moved = _retarget(open_session, second.emulator)
    assert (await second.s3_post(moved, "second.txt", b"after restart")).status == 204
    await second.close(open_session["session_id"])
    await second.wait_ingested(open_session["session_id"], 2)
    names = {i["name"] for i in await second.list_all()}
    assert names == {"kept.txt", "ingested.txt", "pending.txt", "second.txt"}


async def test_ingestion_resumes_after_a_restart(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Path
) -> None:
    data_dir = tmp_path / "state"
    first = Api(http, deepset_make_emulator(data_dir=data_dir, ingest_delay_s=3600), "ws")
    session = await first.upload_session(
        {"a.txt": b"a", "a.txt.meta.json": b'{"x": 1}', "b.txt": b"b"}, wait=False
    )
    assert (await first.status(session["session_id"]))["ingestion_status"] == {
        "failed_files": 0,
        "finished_files": 0,
    }
    first.emulator.stop()

    second = Api(http, deepset_make_emulator(data_dir=data_dir, ingest_delay_s=0.01), "ws")
    counts = await second.wait_ingested(session["session_id"], 2)
    assert counts == {"failed_files": 0, "finished_files": 2}
    assert {i["name"]: i["meta"] for i in await second.list_all()} == {"a.txt": {"x": 1}, "b.txt": {}}


async def test_pagination_is_exhaustive_under_concurrent_inserts(api: Api) -> None:
    for index in range(30):
        await api.upload(f"initial-{index:02}.txt", b"x")
    seen: list[dict[str, Any]] = []

    async def insert_more() -> None:
        for index in range(30):
            await api.upload(f"added-{index:02}.txt", b"y")

    async def paginate() -> None:
        seen.extend(await api.list_all(limit=4))

    async with anyio.create_task_group() as group:
        group.start_soon(insert_more)
        group.start_soon(paginate)

    ids = [i["file_id"] for i in seen]
    assert len(ids) == len(set(ids)), "a file was listed twice"
    names = {i["name"] for i in seen}
    assert {f"initial-{index:02}.txt" for index in range(30)} <= names, "a file was missed"
    keys = [(i["created_at"], i["file_id"]) for i in seen]
    assert keys == sorted(keys)
    assert len({i["created_at"] for i in seen}) == len(seen)  # created_at is strictly increasing
    everything = await api.list_all(limit=7)
    assert len(everything) == 60
    assert [i["file_id"] for i in everything[: len(seen)]] == ids  # new files only ever appear at the end


async def test_emulator_runs_on_the_current_loop(http: aiohttp.ClientSession, tmp_path: Path) -> None:
    from deepset_cloud.emulator import Emulator, EmulatorConfig

    config = EmulatorConfig(data_dir=tmp_path / "inline", api_keys=("async-key",), ingest_delay_s=0)
    async with Emulator(config, port=0) as emulator:
        assert emulator.api_url == f"http://127.0.0.1:{emulator.port}/api/v1"
        headers = {"Authorization": "Bearer async-key"}
        async with http.get(f"{emulator.api_url}/workspaces/w/files", headers=headers) as response:
            assert response.status == 200
        assert emulator.stats()["requests"]["list_files"] == 1
    with pytest.raises(RuntimeError, match="not running"):
        emulator.stats()


async def test_failed_starts_leave_no_open_database(tmp_path: Path) -> None:
    import errno
    import socket
    import sqlite3

    import psutil

    from deepset_cloud.emulator import Emulator, EmulatorConfig

    def open_under_tmp() -> list[str]:
        return [f.path for f in psutil.Process().open_files() if f.path.startswith(str(tmp_path))]

    damaged = tmp_path / "damaged"
    damaged.mkdir()
    (damaged / "emulator.sqlite3").write_bytes(b"not a database " * 100)
    with pytest.raises(sqlite3.DatabaseError) as damaged_error:
        await Emulator(EmulatorConfig(data_dir=damaged)).start()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        in_use = Emulator(EmulatorConfig(data_dir=tmp_path / "busy"), port=busy.getsockname()[1])
        with pytest.raises(OSError) as busy_error:
            await in_use.start()
    # The errors (and through their tracebacks the half-built stores) are still alive here.
    assert open_under_tmp() == []
    assert "not a database" in str(damaged_error.value)
    assert busy_error.value.errno == errno.EADDRINUSE


async def test_a_restart_removes_blobs_left_by_a_crash_and_keeps_the_rest(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Path
) -> None:
    data_dir = tmp_path / "state"
    first = Api(http, deepset_make_emulator(data_dir=data_dir), "ws")
    large = b"x" * (200 * 1024)  # above the inline limit: stored as a blob file
    file_id = (await first.upload("large.bin", large, {})).json["file_id"]
    first.emulator.stop()
    blob_files = [path for path in (data_dir / "blobs").rglob("*") if path.is_file()]
    assert len(blob_files) == 1
    # What a crash mid-request leaves behind: a spooled body no record points to.
    orphan = blob_files[0].parent / "mp-123-deadbeef-7.part"
    orphan.write_bytes(b"half a request body")

    second = Api(http, deepset_make_emulator(data_dir=data_dir), "ws")
    assert not orphan.exists()
    assert (await second.call("GET", f"files/{file_id}")).body == large


async def test_a_second_emulator_on_a_data_dir_in_use_fails_to_start_and_the_first_keeps_serving(
    http: aiohttp.ClientSession, deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Path
) -> None:
    import sqlite3

    from deepset_cloud.emulator import Emulator, EmulatorConfig

    data_dir = tmp_path / "shared"
    first = Api(http, deepset_make_emulator(data_dir=data_dir), "ws")
    spool_leftover = (
        data_dir / "spool" / "in-flight.part"
    )  # the first one's; a second start must not touch it
    spool_leftover.write_bytes(b"x")
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await Emulator(EmulatorConfig(data_dir=data_dir)).start()
    assert spool_leftover.exists()
    assert (await first.upload("still.txt", b"served", {})).status == 201
    assert [item["name"] for item in await first.list_all()] == ["still.txt"]
