"""Uploads under injected faults: retried to completion with no file lost and none duplicated."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from deepset_cloud._upload.pipeline import PipelineStats
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ConflictError, ServerError
from deepset_cloud.models import DeepsetCloudFile, UploadReport, UploadSessionStatusEnum

from ._harness import Harness, make_harness, write_tree

pytestmark = pytest.mark.anyio


async def assert_each_file_listed_once(harness: Harness, expected: dict[str, dict[str, Any]]) -> None:
    listed = await harness.files()
    assert sorted(file.name for file in listed) == sorted(expected)  # each exactly once
    assert {file.name: file.meta for file in listed} == expected


@pytest.mark.parametrize(
    "fault",
    [
        {"route": "s3_post", "rate": 0.3, "status": 503},
        {"route": "s3_post", "rate": 0.2, "drop": True},
        {"route": "s3_post", "rate": 0.2, "status": 429, "retry_after": 0.01},
        {"route": "s3_post", "rate": 0.2, "status": 500},
    ],
    ids=["503", "dropped-connection", "429-retry-after", "500"],
)
async def test_storage_faults_are_retried_without_loss_or_duplicates(
    harness: Harness, tmp_path: Path, fault: dict[str, Any]
) -> None:
    expected = write_tree(tmp_path, 60, meta_every=4)
    objects = 60 + 15
    before = harness.emulator.stats()
    harness.emulator.set_faults([fault])

    report = await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    after = harness.emulator.stats()
    assert after["faults_injected"] > before["faults_injected"]
    assert report.failed == ()
    assert report.successful_upload_count == objects
    assert report.ingestion is not None
    assert (report.ingestion.finished_files, report.ingestion.failed_files) == (60, 0)
    await assert_each_file_listed_once(harness, expected)


async def test_in_memory_uploads_survive_storage_faults(harness: Harness) -> None:
    files = [
        DeepsetCloudFile(text=f"t{index}", name=f"t{index}.txt", meta={"i": index}) for index in range(40)
    ]
    harness.emulator.set_faults([{"route": "s3_post", "rate": 0.25, "status": 503}])

    report = await harness.upload_memory(files)

    harness.emulator.clear_faults()
    assert report.failed == ()
    await assert_each_file_listed_once(harness, {file.name: {"i": index} for index, file in enumerate(files)})


async def test_api_faults_around_the_session_are_retried(harness: Harness, tmp_path: Path) -> None:
    expected = write_tree(tmp_path, 25)
    harness.emulator.set_faults(
        [
            {"route": "close_session", "status": 503, "count": 2},
            {"route": "session_status", "rate": 0.5, "status": 502},
        ]
    )

    report = await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    assert report.failed == ()
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 25
    await assert_each_file_listed_once(harness, expected)


async def test_permanent_storage_refusal_is_reported_per_file(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 25, meta_every=5)
    harness.emulator.set_faults([{"route": "s3_post", "status": 403}])

    report = await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    # Sidecars go first; a file whose sidecar failed is not posted at all (never stored without its meta).
    assert report.successful_upload_count == 0
    assert report.total_files == report.failed_upload_count == 30
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 0
    first = report.failed[0].exception
    assert first is not None
    assert getattr(first, "status_code", None) == 403
    assert [s.status for s in await harness.sessions()] == [UploadSessionStatusEnum.CLOSED]


async def test_session_that_cannot_be_created_raises(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 25)
    harness.emulator.set_faults([{"route": "create_session", "status": 500}])

    with pytest.raises(ServerError):
        await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    assert await harness.sessions() == []


async def test_short_lived_sessions_roll_over_before_they_expire(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str, tmp_path: Path
) -> None:
    # Sessions live 1.5 s; a session older than 0.2 s takes no new file. Each post takes >= 20 ms and
    # they run one at a time, so the 30 posts take >= 0.6 s and must span several sessions.
    emulator = deepset_make_emulator(session_ttl_s=1.5)
    emulator.set_faults([{"route": "s3_post", "latency_s": 0.02}])
    harness, transport = await make_harness(emulator, deepset_workspace)
    expected = write_tree(tmp_path, 30)
    try:
        report = await harness.upload_paths(
            [tmp_path], settings=harness.settings(session_expiry_margin_s=1.3, s3_concurrency=1)
        )
        listed = await harness.files()
    finally:
        await transport.aclose()

    assert report.failed == ()
    assert len(report.session_ids) >= 2
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 30
    assert sorted(file.name for file in listed) == sorted(expected)


async def test_a_session_closed_by_someone_else_fails_the_rest_but_returns_a_report(
    harness: Harness, tmp_path: Path
) -> None:
    write_tree(tmp_path, 60)
    stats = PipelineStats()
    harness.emulator.set_faults([{"route": "s3_post", "latency_s": 0.01}])
    report: UploadReport | None = None

    async def upload() -> None:
        nonlocal report
        report = await harness.upload_paths(
            [tmp_path], settings=harness.settings(s3_concurrency=1), stats=stats
        )

    async with anyio.create_task_group() as task_group:
        task_group.start_soon(upload)
        with anyio.fail_after(30):
            while stats.max_in_flight == 0:
                await anyio.sleep(0.001)
        [session] = await harness.sessions()
        await harness.api.close_upload_session(harness.workspace, session.session_id)

    assert report is not None
    assert report.successful_upload_count + report.failed_upload_count == 60
    assert report.failed_upload_count > 0
    assert {getattr(result.exception, "s3_code", None) for result in report.failed} == {"AccessDenied"}
    assert report.ingestion is not None
    assert report.ingestion.finished_files == report.successful_upload_count


async def test_an_aborted_upload_still_reports_what_it_uploaded(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str, tmp_path: Path
) -> None:
    # One open session allowed; sessions of 10 objects. The producer needs the second session while the
    # first still has posts in flight (slowed down), so creating it fails with 409 and aborts the upload.
    emulator = deepset_make_emulator(max_open_sessions=1)
    emulator.set_faults([{"route": "s3_post", "latency_s": 0.02}])
    harness, transport = await make_harness(emulator, deepset_workspace)
    write_tree(tmp_path, 25)
    try:
        with pytest.raises(ConflictError) as info:
            await harness.upload_paths(
                [tmp_path], settings=harness.settings(max_files_per_session=10, s3_concurrency=4)
            )
        report = info.value.upload_report
        assert report is not None
        assert len(report.session_ids) == 1
        assert report.total_files == report.successful_upload_count + report.failed_upload_count
        assert 0 < report.total_files <= 10
        sessions = await harness.sessions()
        assert [s.session_id for s in sessions] == list(report.session_ids)
        assert [s.status for s in sessions] == [UploadSessionStatusEnum.CLOSED]
    finally:
        await transport.aclose()
