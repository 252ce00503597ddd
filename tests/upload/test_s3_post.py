"""`PresignedPost` against the emulator's storage endpoint: streaming, read errors, retries."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from deepset_cloud._http import storage as _s3
from deepset_cloud._http.storage import PresignedPost
from deepset_cloud._upload import pipeline as _upload
from deepset_cloud._upload.discovery import Discovery, discover_paths
from deepset_cloud.errors import UploadError
from deepset_cloud.models import WriteMode

from ._harness import FAST_RETRY, Harness

pytestmark = pytest.mark.anyio


async def test_a_file_that_shrinks_while_streaming_fails_without_retry(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    file = tmp_path / "big.txt"
    file.write_bytes(b"x" * 10_000)
    # The file "was" larger when its size was taken: the stream runs out of bytes.
    monkeypatch.setattr(_s3, "_read_if_tiny", lambda path: (20_000, None))
    session = await harness.api.create_upload_session(harness.workspace, write_mode=WriteMode.KEEP)
    config = session.aws_prefixed_request_config
    before = harness.emulator.stats()["requests"].get("s3_post", 0)
    try:
        poster = PresignedPost(
            await harness.transport.http_session(),
            url=config.url,
            fields=config.fields,
            retry=FAST_RETRY,
            stream_threshold=1024,
        )
        with pytest.raises(UploadError, match="file shrank during upload") as caught:
            await poster.upload("big.txt", file)
    finally:
        await harness.api.close_upload_session(harness.workspace, session.session_id)

    assert caught.value.is_retryable is False
    assert harness.emulator.stats()["requests"].get("s3_post", 0) - before == 1


@pytest.mark.parametrize("direct_upload_threshold", [20, 0], ids=["direct", "session"])
async def test_a_file_deleted_after_discovery_is_reported_as_failed(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, direct_upload_threshold: int
) -> None:
    for index in range(5):
        (tmp_path / f"f{index}.txt").write_text("x")
    victim = tmp_path / "f3.txt"

    def discover_then_lose_one(*args: Any, **kwargs: Any) -> Discovery:
        found = discover_paths(*args, **kwargs)
        victim.unlink()  # the race: the file disappears between discovery and upload
        return found

    monkeypatch.setattr(_upload, "discover_paths", discover_then_lose_one)

    # Files, not their folder: a folder alone is uploaded while it is listed, without `discover_paths`.
    report = await harness.upload_paths(
        sorted(tmp_path.iterdir()), settings=harness.settings(direct_upload_threshold=direct_upload_threshold)
    )

    assert (report.total_files, report.successful_upload_count, report.failed_upload_count) == (5, 4, 1)
    [failure] = report.failed
    assert failure.file_name == "f3.txt"
    assert failure.reason is not None
    assert "f3.txt" in failure.reason
    assert sorted(file.name for file in await harness.files()) == ["f0.txt", "f1.txt", "f2.txt", "f4.txt"]
