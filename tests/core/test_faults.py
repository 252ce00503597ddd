"""Retries under the emulator's fault injection: what is retried, what is not, and never a duplicate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deepset_cloud import AsyncClient, DeepsetCloudFile, RetryPolicy
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ServerError

pytestmark = pytest.mark.anyio


def requests_of(emulator: ThreadedEmulator, route: str) -> int:
    return int(emulator.stats()["requests"].get(route, 0))


async def names_in(client: AsyncClient) -> list[str]:
    return sorted(file.name for page in [p async for p in client.list_files()] for file in page)


def texts(count: int, prefix: str = "t") -> list[DeepsetCloudFile]:
    return [
        DeepsetCloudFile(text=f"text {i}", name=f"{prefix}{i:02d}.txt", meta={"i": i}) for i in range(count)
    ]


@pytest.mark.parametrize(
    "fault",
    [
        {"status": 503, "retry_after": 0, "count": 2},
        {"status": 429, "retry_after": 0, "count": 2},
        {"status": 502, "count": 2},
        {"drop": True, "count": 2},
    ],
    ids=["503-retry-after", "429-retry-after", "502", "drop"],
)
async def test_listing_recovers_from_transient_faults(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, fault: dict[str, Any]
) -> None:
    await client.upload_texts(texts(3), show_progress=False)
    before = requests_of(deepset_emulator, "list_files")
    deepset_emulator.set_faults([{"route": "list_files", **fault}])
    assert await names_in(client) == ["t00.txt", "t01.txt", "t02.txt"]
    assert requests_of(deepset_emulator, "list_files") - before == 3


async def test_session_status_recovers_from_a_503(
    client: AsyncClient, deepset_emulator: ThreadedEmulator
) -> None:
    report = await client.upload_texts(texts(21), show_progress=False)
    (session_id,) = report.session_ids
    deepset_emulator.set_faults([{"route": "session_status", "status": 503, "retry_after": 0, "count": 1}])
    status = await client.get_upload_session(session_id)
    assert status.ingestion_status.finished_files == 21


async def test_retries_are_bounded(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, fast_retry: RetryPolicy
) -> None:
    before = requests_of(deepset_emulator, "list_files")
    deepset_emulator.set_faults([{"route": "list_files", "status": 503, "retry_after": 0}])
    with pytest.raises(ServerError, match="503"):
        await names_in(client)
    assert requests_of(deepset_emulator, "list_files") - before == fast_retry.max_tries


async def test_direct_upload_answered_503_is_not_retried_and_never_duplicated(
    client: AsyncClient, deepset_emulator: ThreadedEmulator
) -> None:
    before = requests_of(deepset_emulator, "direct_upload")
    deepset_emulator.set_faults([{"route": "direct_upload", "count": 1, "status": 503, "retry_after": 0}])
    report = await client.upload_texts(texts(5), show_progress=False)
    deepset_emulator.clear_faults()
    assert requests_of(deepset_emulator, "direct_upload") - before == 5  # one request per file, no retry
    assert report.failed_upload_count == 1
    assert report.successful_upload_count == 4
    (failed,) = report.failed
    assert isinstance(failed.exception, ServerError)
    listed = await names_in(client)
    assert len(listed) == len(set(listed)) == 4
    assert failed.file_name not in listed


async def test_direct_upload_dropped_before_storing_is_looked_up_then_sent_once_more(
    client: AsyncClient, deepset_emulator: ThreadedEmulator
) -> None:
    before = requests_of(deepset_emulator, "direct_upload")
    deepset_emulator.set_faults([{"route": "direct_upload", "count": 1, "drop": True}])
    report = await client.upload_texts(texts(5), show_progress=False)
    deepset_emulator.clear_faults()
    # The dropped request stored nothing: the workspace says so, and only then is it sent again.
    assert requests_of(deepset_emulator, "direct_upload") - before == 6
    assert (report.successful_upload_count, report.failed) == (5, ())
    listed = await names_in(client)
    assert len(listed) == len(set(listed)) == 5


async def test_create_session_is_not_retried_after_a_503(
    client: AsyncClient, deepset_emulator: ThreadedEmulator
) -> None:
    before = requests_of(deepset_emulator, "create_session")
    deepset_emulator.set_faults([{"route": "create_session", "status": 503, "retry_after": 0, "count": 1}])
    with pytest.raises(ServerError):
        await client.upload_texts(texts(25), show_progress=False)
    assert requests_of(deepset_emulator, "create_session") - before == 1
    assert [page async for page in client.list_upload_sessions()] == []


async def test_session_upload_survives_faults_on_close_and_s3_without_duplicates(
    client: AsyncClient, deepset_emulator: ThreadedEmulator
) -> None:
    deepset_emulator.set_faults(
        [
            {"route": "close_session", "status": 503, "retry_after": 0, "count": 2},
            {"route": "s3_post", "status": 503, "retry_after": 0, "count": 3},
            {"route": "s3_post", "drop": True, "count": 2},
        ]
    )
    report = await client.upload_texts(texts(25), show_progress=False, timeout_s=60)
    assert report.failed == ()
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 25
    listed = await names_in(client)
    assert listed == [f"t{i:02d}.txt" for i in range(25)]


async def test_download_retries_transient_faults_and_reports_permanent_ones(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    await client.upload_texts(texts(3), show_progress=False)
    deepset_emulator.set_faults([{"route": "download", "status": 503, "retry_after": 0, "count": 2}])
    report = await client.download(file_dir=tmp_path / "ok", show_progress=False)
    assert report.failed == ()
    assert len(report.downloaded) == 3

    deepset_emulator.set_faults([{"route": "download", "status": 404}])
    report = await client.download(file_dir=tmp_path / "missing", show_progress=False)
    assert report.downloaded == ()
    assert sorted(item.name for item in report.failed) == ["t00.txt", "t01.txt", "t02.txt"]
    assert all("404" in item.reason for item in report.failed)
    assert list((tmp_path / "missing").iterdir()) == []
