"""Background ingestion of closed sessions: pairing, write modes and failure reasons."""

from __future__ import annotations

import pytest

from .emulator_api import Api

pytestmark = pytest.mark.anyio


async def _reasons(api: Api, session_id: str) -> dict[str, tuple[str, str | None]]:
    files = await api.session_files(session_id)
    return {f["name"]: (f["ingestion_status"], f["ingestion_status_reason"]) for f in files["data"]}


async def test_sidecars_pair_by_exact_case_sensitive_name(api: Api) -> None:
    await api.upload_session(
        {
            "File00.txt": b"upper",
            "File00.txt.meta.json": b'{"which": "upper"}',
            "file00.txt": b"lower",
            "file00.txt.meta.json": b'{"which": "lower"}',
            "plain.txt": b"no sidecar",
        }
    )
    items = {i["name"]: i["meta"] for i in await api.list_all()}
    assert items == {"File00.txt": {"which": "upper"}, "file00.txt": {"which": "lower"}, "plain.txt": {}}


async def test_failure_reasons_and_counts(api: Api) -> None:
    session = await api.upload_session(
        {
            "good.txt": b"fine",
            "empty.txt": b"",
            "badjson.txt": b"x",
            "badjson.txt.meta.json": b"{oops",
            "array.txt": b"x",
            "array.txt.meta.json": b"[1, 2]",
            "orphan.txt.meta.json": b"{}",
        }
    )
    status = await api.status(session["session_id"])
    # Only raw files count; the orphan sidecar is reported per file but not in the counts.
    assert status["ingestion_status"] == {"failed_files": 3, "finished_files": 1}
    assert await _reasons(api, session["session_id"]) == {
        "good.txt": ("FINISHED", None),
        "empty.txt": ("FAILED", "EMPTY_FILE"),
        "badjson.txt": ("FAILED", "FAILED_TO_PARSE_META"),
        "array.txt": ("FAILED", "FAILED_TO_PARSE_META"),
        "orphan.txt.meta.json": ("FAILED", "FILE_NOT_FOUND"),
    }
    assert [i["name"] for i in await api.list_all()] == ["good.txt"]


async def test_write_mode_keep_keeps_both(api: Api) -> None:
    await api.upload_session({"doc.txt": b"one"})
    await api.upload_session({"doc.txt": b"two"}, "KEEP")
    assert sorted(i["size"] for i in await api.list_all()) == [3, 3]
    assert len(await api.list_all()) == 2


async def test_write_mode_overwrite_replaces_every_file_with_that_name(api: Api) -> None:
    await api.upload("doc.txt", b"direct one")
    await api.upload("doc.txt", b"direct two")
    await api.upload("other.txt", b"stays")
    await api.upload_session({"doc.txt": b"fresh", "doc.txt.meta.json": b'{"v": 3}'}, "OVERWRITE")
    items = {i["name"]: i for i in await api.list_all()}
    assert len(await api.list_all()) == 2
    assert items["doc.txt"]["meta"] == {"v": 3}
    assert (await api.call("GET", f"files/{items['doc.txt']['file_id']}")).body == b"fresh"


async def test_write_mode_fail_reports_file_already_exists(api: Api) -> None:
    await api.upload("taken.txt", b"original")
    session = await api.upload_session({"taken.txt": b"new", "free.txt": b"new"}, "FAIL")
    status = await api.status(session["session_id"])
    assert status["ingestion_status"] == {"failed_files": 1, "finished_files": 1}
    assert (await _reasons(api, session["session_id"]))["taken.txt"] == ("FAILED", "FILE_ALREADY_EXISTS")
    items = {i["name"]: i for i in await api.list_all()}
    assert set(items) == {"taken.txt", "free.txt"}
    assert (await api.call("GET", f"files/{items['taken.txt']['file_id']}")).body == b"original"


async def test_ingested_files_keep_their_bytes_and_are_listed_after_earlier_files(api: Api) -> None:
    await api.upload("first.txt", b"1")
    payload = bytes(range(256)) * 40
    await api.upload_session({"binary.pdf": payload})
    items = await api.list_all()
    assert [i["name"] for i in items] == ["first.txt", "binary.pdf"]
    assert items[1]["size"] == len(payload)
    assert (await api.call("GET", f"files/{items[1]['file_id']}")).body == payload


async def test_many_files_in_one_session(api: Api) -> None:
    objects = {f"f{i:03}.txt": f"body {i}".encode() for i in range(120)}
    objects.update({f"f{i:03}.txt.meta.json": f'{{"i": {i}}}'.encode() for i in range(0, 120, 2)})
    session = await api.upload_session(objects)
    status = await api.status(session["session_id"])
    assert status["ingestion_status"] == {"failed_files": 0, "finished_files": 120}
    items = await api.list_all(limit=25)
    assert len(items) == 120
    assert {i["name"] for i in items} == {n for n in objects if not n.endswith(".meta.json")}
    assert sum(1 for i in items if i["meta"]) == 60


async def test_large_contents_live_in_blob_files(api: Api) -> None:
    blob_dir = api.emulator.data_dir / "blobs"

    def blob_files() -> int:
        return sum(1 for p in blob_dir.rglob("*") if p.is_file())

    before = blob_files()
    big = bytes(range(256)) * 1000  # 256 KB, beyond the inline limit
    session = await api.upload_session(
        {"big.bin": big, "big.bin.meta.json": b'{"big": true}', "small.txt": b"s"}
    )
    assert (await api.status(session["session_id"]))["ingestion_status"]["finished_files"] == 2
    items = {i["name"]: i for i in await api.list_all()}
    assert items["big.bin"]["meta"] == {"big": True}
    assert (await api.call("GET", f"files/{items['big.bin']['file_id']}")).body == big
    assert blob_files() == before + 1  # the big file only; small contents are inline
    replaced = await api.upload("big.bin", big[::-1], write_mode="OVERWRITE")
    assert (await api.call("GET", f"files/{replaced.json['file_id']}")).body == big[::-1]
    assert blob_files() == before + 1  # the overwritten blob was deleted
    assert (await api.call("GET", "files", params={"content": "nothing like this"})).json["total"] == 0
    assert (await api.call("DELETE", f"files/{replaced.json['file_id']}")).status == 204
    assert blob_files() == before
