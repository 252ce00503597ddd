"""Zero loss under transient storage faults: persistent retries, one re-queue, lost answers looked up,
an upload-wide breaker for a dead storage endpoint, and a 409 on close that is not taken for success."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from deepset_cloud._http.storage import S3Timeouts
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ConflictError, ServerError, UploadError
from deepset_cloud.models import DeepsetCloudFile, UploadSessionStatusEnum, WriteMode

from ._harness import FAST_RETRY, Harness, make_harness, write_tree

pytestmark = pytest.mark.anyio


async def test_posts_are_retried_well_past_five_tries(harness: Harness, tmp_path: Path) -> None:
    # 60% of the posts fail: about 1 in 13 objects needs more than five tries.
    expected = write_tree(tmp_path, 60, meta_every=3)
    harness.emulator.set_faults([{"route": "s3_post", "rate": 0.6, "status": 503}])

    report = await harness.upload_paths(
        [tmp_path], settings=harness.settings(retry=FAST_RETRY.with_changes(max_tries=2))
    )

    harness.emulator.clear_faults()
    assert report.failed == ()
    assert report.successful_upload_count == 80
    assert {file.name: file.meta for file in await harness.files()} == expected


async def test_lost_answers_are_not_failures(harness: Harness) -> None:
    # Every post is stored but its answer is lost; with no retries allowed (deadline 0) each file is
    # posted twice (once re-queued), then found in the session's file list.
    files = [DeepsetCloudFile(text=f"text {index}", name=f"lost{index:02}.txt") for index in range(30)]
    harness.emulator.set_faults([{"route": "s3_post", "lose_response": True}])

    report = await harness.upload_memory(files, settings=harness.settings(upload_deadline_s=0))

    harness.emulator.clear_faults()
    assert report.failed == ()
    assert report.successful_upload_count == 30
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 30
    assert sorted(file.name for file in await harness.files()) == [file.name for file in files]


async def test_what_fails_after_the_requeue_is_exactly_what_is_missing(
    harness: Harness, tmp_path: Path
) -> None:
    # No retries (deadline 0): each object gets its first post and one more at the end of the session.
    expected = write_tree(tmp_path, 80, meta_every=2)
    harness.emulator.set_faults([{"route": "s3_post", "rate": 0.5, "status": 503}])

    report = await harness.upload_paths([tmp_path], settings=harness.settings(upload_deadline_s=0))

    harness.emulator.clear_faults()
    stored = {file.name for file in await harness.files()}
    failed_files = {
        result.file_name for result in report.failed if not result.file_name.endswith(".meta.json")
    }
    assert report.failed  # 1 in 4 objects fails both posts: some files are missing ...
    assert failed_files == set(expected) - stored  # ... and the report names exactly those
    assert report.successful_upload_count + report.failed_upload_count == report.total_files


async def test_a_post_left_unanswered_is_posted_again_after_its_read_timeout(
    harness: Harness, tmp_path: Path
) -> None:
    expected = write_tree(tmp_path, 30, meta_every=3)
    harness.emulator.set_faults([{"route": "s3_post", "latency_s": 3600, "count": 3}])  # never answered

    report = await harness.upload_paths(
        [tmp_path], settings=harness.settings(s3_timeouts=S3Timeouts(connect_s=0.1, read_s=0.2))
    )

    harness.emulator.clear_faults()
    assert report.failed == ()
    assert report.successful_upload_count == 40
    assert {file.name: file.meta for file in await harness.files()} == expected


async def test_dead_storage_endpoint_ends_the_upload_with_a_report(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str, tmp_path: Path
) -> None:
    emulator = deepset_make_emulator()
    emulator.set_faults([{"route": "s3_post", "latency_s": 3600}])  # never answers
    harness, transport = await make_harness(emulator, deepset_workspace)
    write_tree(tmp_path, 40)
    try:
        with pytest.raises(UploadError, match=r"no progress for 0\.3 s") as caught:
            await harness.upload_paths([tmp_path], settings=harness.settings(storage_stall_limit_s=0.3))
        sessions = await harness.sessions()
    finally:
        await transport.aclose()

    report = caught.value.upload_report
    assert report is not None
    assert report.successful_upload_count == 0
    assert report.session_ids == tuple(session.session_id for session in sessions)
    assert [session.status for session in sessions] == [UploadSessionStatusEnum.CLOSED]


async def test_storage_answering_500_trips_the_breaker(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 30)
    harness.emulator.set_faults([{"route": "s3_post", "status": 500}])

    with pytest.raises(UploadError, match="no progress") as caught:
        await harness.upload_paths([tmp_path], settings=harness.settings(storage_stall_limit_s=0.3))

    harness.emulator.clear_faults()
    report = caught.value.upload_report
    assert report is not None
    assert report.successful_upload_count == 0
    assert await harness.files() == []


async def test_a_close_whose_answer_was_lost_is_confirmed_closed(harness: Harness, tmp_path: Path) -> None:
    expected = write_tree(tmp_path, 25)
    harness.emulator.set_faults([{"route": "close_session", "lose_response": True, "count": 1}])

    report = await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    assert report.failed == ()
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 25
    assert sorted(file.name for file in await harness.files()) == sorted(expected)


async def test_a_409_on_close_of_a_session_that_is_not_closed_raises(
    harness: Harness, tmp_path: Path
) -> None:
    write_tree(tmp_path, 25)
    harness.emulator.set_faults([{"route": "close_session", "status": 409}])

    with pytest.raises(ConflictError, match="could not be closed") as caught:
        await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    report = caught.value.upload_report
    assert report is not None
    assert report.successful_upload_count == 25


async def test_files_that_failed_ingestion_are_named_with_their_reason(harness: Harness) -> None:
    files = [DeepsetCloudFile(text=f"text {index}", name=f"same{index:02}.txt") for index in range(25)]
    await harness.upload_memory(files)

    report = await harness.upload_memory(files, write_mode=WriteMode.FAIL)

    assert report.ingestion is not None
    assert report.ingestion.failed_files == 25
    assert sorted((failure.name, failure.reason) for failure in report.failed_ingestion) == [
        (file.name, "FILE_ALREADY_EXISTS") for file in files
    ]
    assert {failure.session_id for failure in report.failed_ingestion} == set(report.session_ids)


async def test_a_failed_status_poll_carries_the_upload_report(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 25)
    harness.emulator.set_faults([{"route": "session_status", "status": 500}])

    with pytest.raises(ServerError) as caught:
        await harness.upload_paths([tmp_path])

    harness.emulator.clear_faults()
    report = caught.value.upload_report
    assert report is not None
    assert (report.successful_upload_count, report.failed) == (25, ())
    assert len(report.session_ids) == 1


@pytest.mark.parametrize(
    "fault",
    [{"lose_response": True}, {"drop": True}],
    ids=["stored-answer-lost", "dropped-before-storing"],
)
async def test_a_direct_upload_whose_answer_is_lost_is_looked_up_not_duplicated(
    harness: Harness, fault: dict[str, object]
) -> None:
    files = [DeepsetCloudFile(text=f"text {index}", name=f"direct{index}.txt") for index in range(4)]
    harness.emulator.set_faults([{"route": "direct_upload", "count": 3, **fault}])

    report = await harness.upload_memory(files)

    harness.emulator.clear_faults()
    assert report.failed == ()
    assert report.successful_upload_count == 4
    assert sorted(file.name for file in await harness.files()) == [file.name for file in files]  # each once
