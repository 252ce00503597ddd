"""The engine-agnostic partition uploader: records in, a mergeable result out, no duplicates on re-runs."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Callable

import pytest

from deepset_cloud import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.integrations.partition import (
    PartitionResult,
    Record,
    UploadTarget,
    finish,
    upload_partition,
    upload_partition_async,
)
from deepset_cloud.models import File
from deepset_cloud.sync_client import files as sync_files


def target_for(emulator: ThreadedEmulator, workspace: str, **changes: object) -> UploadTarget:
    return UploadTarget(
        workspace_name=workspace,
        api_key=emulator.api_key,
        api_url=emulator.api_url,
        **changes,  # type: ignore[arg-type]
    )


def listed(emulator: ThreadedEmulator, workspace: str) -> list[File]:
    pages = sync_files.list_files(
        api_key=emulator.api_key, api_url=emulator.api_url, workspace_name=workspace, batch_size=500
    )
    return [file for page in pages for file in page]


def partition(start: int, stop: int) -> list[tuple[str, bytes, dict[str, int]]]:
    return [
        (f"doc-{index:04d}.txt", f"text {index}".encode(), {"index": index}) for index in range(start, stop)
    ]


def test_partitions_merge_into_one_report_and_land_once(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    target = target_for(deepset_emulator, deepset_workspace, max_files_per_session=30)
    results = [upload_partition(partition(start, start + 40), target) for start in (0, 40, 80)]
    # A result crosses process boundaries in Ray and Dask.
    merged = PartitionResult.merge(pickle.loads(pickle.dumps(result)) for result in results)
    report = finish(merged, target, blocking=True)

    assert report.successful_upload_count == 240  # 120 files + 120 sidecars
    assert report.failed == ()
    # 40 bundles of 2 objects under a 30-object session limit: 3 sessions per partition, all closed.
    assert len(report.session_ids) == 9
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 120
    files = listed(deepset_emulator, deepset_workspace)
    assert sorted(file.name for file in files) == [f"doc-{index:04d}.txt" for index in range(120)]
    assert all(file.meta == {"index": int(file.name[4:8])} for file in files)


def test_a_partition_run_again_replaces_instead_of_duplicating(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    target = target_for(deepset_emulator, deepset_workspace)
    first = upload_partition(partition(0, 25), target)
    again = upload_partition([(name, b"second run", meta) for name, _, meta in partition(0, 25)], target)
    finish(PartitionResult.merge([first, again]), target, blocking=True)

    files = listed(deepset_emulator, deepset_workspace)
    assert len(files) == 25
    assert {file.size for file in files} == {len(b"second run")}


def test_partitions_wait_for_a_free_session_at_the_open_session_limit(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str
) -> None:
    emulator = deepset_make_emulator(max_open_sessions=1)
    target = target_for(emulator, deepset_workspace, max_files_per_session=10)
    results: list[PartitionResult] = []
    errors: list[BaseException] = []

    def run(start: int) -> None:
        try:
            results.append(upload_partition(partition(start, start + 30), target))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(start,)) for start in (0, 30, 60, 90)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    report = finish(PartitionResult.merge(results), target, blocking=True)
    assert report.successful_upload_count == 240
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 120
    assert len(listed(emulator, deepset_workspace)) == 120


def test_bad_records_are_all_named_before_any_request(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    target = target_for(deepset_emulator, deepset_workspace)
    records: list[object] = [
        Record(name="ok.txt", content=b"fine"),
        ("", b"no name"),
        ("text.txt", "plain text, not a URL"),
        ("x.meta.json", b"{}"),
        ("meta.txt", b"x", {"bad": object()}),
        "not a record",
    ]
    with pytest.raises(ConfigurationError) as caught:
        upload_partition(records, target)  # type: ignore[arg-type]
    message = str(caught.value)
    assert "cannot upload 5 record(s)" in message
    for expected in (
        "has no name",
        "not a URL",
        "reserved for metadata",
        "not JSON-serialisable",
        "not a Record",
    ):
        assert expected in message
    assert listed(deepset_emulator, deepset_workspace) == []


@pytest.mark.anyio
async def test_the_async_twin_and_an_empty_partition(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    target = target_for(deepset_emulator, deepset_workspace)
    empty = await upload_partition_async([], target)
    assert (empty.report.total_files, empty.session_files) == (0, ())
    result = await upload_partition_async([Record(name="one.txt", content=b"1")], target)
    assert result.report.successful_upload_count == 1
    assert [files for _, files in result.session_files] == [1]
    async with AsyncClient(deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace) as client:
        sessions = [session async for page in client.list_upload_sessions() for session in page]
    assert [session.session_id for session in sessions] == [result.session_files[0][0]]


def test_the_target_never_shows_its_secrets() -> None:
    target = UploadTarget(api_key="secret-key-123", storage_options={"secret": "s3-secret-456"})
    assert "secret-key-123" not in repr(target)
    assert "s3-secret-456" not in repr(target)
