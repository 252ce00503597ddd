"""The session machinery: rollover, expiry, cancellation, bounded memory, ingestion timeout, no auth to S3."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from deepset_cloud._upload.pipeline import PipelineStats
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import IngestionTimeoutError
from deepset_cloud.models import DeepsetCloudFile, UploadSessionStatusEnum

from ._harness import Harness, make_harness, write_tree

pytestmark = pytest.mark.anyio


def expected_session_sizes(bundle_sizes: list[int], limit: int) -> list[int]:
    sessions: list[int] = [0]
    for size in bundle_sizes:
        if sessions[-1] and sessions[-1] + size > limit:
            sessions.append(0)
        sessions[-1] += size
    return sessions


async def test_rollover_at_the_per_session_limit_keeps_pairs_together(
    harness: Harness, tmp_path: Path
) -> None:
    expected = write_tree(tmp_path, 30, meta_every=3)
    # One folder is uploaded while it is listed, in directory order: a pair at its first entry.
    in_order: list[str] = []
    for entry in os.scandir(tmp_path):
        name = entry.name.removesuffix(".meta.json")
        if name not in in_order:
            in_order.append(name)
    bundle_sizes = [2 if expected[name] else 1 for name in in_order]
    sizes = expected_session_sizes(bundle_sizes, 5)

    report = await harness.upload_paths([tmp_path], settings=harness.settings(max_files_per_session=5))

    assert report.failed == ()
    assert len(report.session_ids) == len(sizes) > 1
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 30
    # A file and its sidecar always share a session: every file got its meta.
    assert {file.name: file.meta for file in await harness.files()} == expected
    statuses = {s.session_id: s.status for s in await harness.sessions()}
    assert set(statuses) == set(report.session_ids)
    assert set(statuses.values()) == {UploadSessionStatusEnum.CLOSED}


async def test_a_session_about_to_expire_is_replaced(harness: Harness, tmp_path: Path) -> None:
    # With a margin longer than a session lives, every session is "about to expire" once it holds a bundle.
    expected = write_tree(tmp_path, 22, meta_every=2)
    stats = PipelineStats()

    report = await harness.upload_paths(
        [tmp_path], settings=harness.settings(session_expiry_margin_s=10**7, max_open_sessions=2), stats=stats
    )

    assert report.failed == ()
    assert len(report.session_ids) == 22
    assert stats.max_open_sessions <= 2
    assert {file.name: file.meta for file in await harness.files()} == expected


async def test_in_flight_and_queued_work_stays_bounded(harness: Harness, tmp_path: Path) -> None:
    count = 2000
    write_tree(tmp_path, count)
    stats = PipelineStats()
    before = harness.emulator.stats()["s3_objects_received"]

    report = await harness.upload_paths(
        [tmp_path], settings=harness.settings(s3_concurrency=4), stats=stats, blocking=False
    )

    assert (report.successful_upload_count, report.failed_upload_count) == (count, 0)
    assert 1 <= stats.max_in_flight <= 4
    assert stats.in_flight == 0
    assert harness.emulator.stats()["s3_objects_received"] - before == count


async def test_cancellation_mid_upload_closes_the_session(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 400)
    stats = PipelineStats()
    before = harness.emulator.stats()["s3_objects_received"]

    async with anyio.create_task_group() as task_group:
        scope = anyio.CancelScope()

        async def upload() -> None:
            with scope:
                await harness.upload_paths(
                    [tmp_path], settings=harness.settings(s3_concurrency=2), stats=stats
                )

        task_group.start_soon(upload)
        with anyio.fail_after(30):
            while stats.max_in_flight == 0:
                await anyio.sleep(0.001)
        scope.cancel()

    assert scope.cancelled_caught
    assert stats.sessions_opened == 1
    assert stats.open_sessions == 0
    sessions = await harness.sessions()
    assert [s.status for s in sessions] == [UploadSessionStatusEnum.CLOSED]
    assert harness.emulator.stats()["s3_objects_received"] - before < 400


async def test_ingestion_timeout_carries_the_session_ids(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str, tmp_path: Path
) -> None:
    slow = deepset_make_emulator(ingest_delay_s=60)
    harness, transport = await make_harness(slow, deepset_workspace)
    write_tree(tmp_path, 25)
    try:
        with pytest.raises(IngestionTimeoutError) as caught:
            await harness.upload_paths([tmp_path], timeout_s=0.3)
    finally:
        await transport.aclose()

    error = caught.value
    report = error.upload_report
    assert report is not None
    assert report.successful_upload_count == 25
    assert len(error.session_ids) == 1
    assert error.session_ids == report.session_ids
    assert (error.finished_files, error.failed_files, error.expected_files) == (0, 0, 25)
    assert str(error.session_ids[0]) in str(error)


async def test_no_authorization_header_reaches_storage(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 25, meta_every=5)
    before = harness.emulator.stats()

    report = await harness.upload_paths([tmp_path], blocking=False)
    await harness.upload_memory(
        [DeepsetCloudFile(text="t", name=f"m{i}.txt") for i in range(21)], blocking=False
    )

    after = harness.emulator.stats()
    assert report.successful_upload_count == 30
    assert after["s3_objects_received"] - before["s3_objects_received"] == 30 + 21
    assert after["s3_requests_with_authorization"] == before["s3_requests_with_authorization"]
