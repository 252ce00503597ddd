"""Path uploads against the emulator: both routes, sidecars, write modes, accounting."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import WriteMode

from ._harness import Harness, write_tree

pytestmark = pytest.mark.anyio


async def test_session_path_uploads_files_with_sidecars_and_waits_for_ingestion(
    harness: Harness, tmp_path: Path
) -> None:
    expected = write_tree(tmp_path / "docs", 30, meta_every=3)
    objects = 30 + 10

    report = await harness.upload_paths([tmp_path / "docs"])

    assert report.total_files == objects
    assert report.successful_upload_count == objects
    assert report.failed_upload_count == 0
    assert len(report.session_ids) == 1
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 30
    listed = {file.name: file.meta for file in await harness.files()}
    assert listed == expected
    sessions = await harness.sessions()
    assert [(s.session_id, s.status.value) for s in sessions] == [(report.session_ids[0], "CLOSED")]


async def test_direct_path_lists_files_immediately_with_meta(harness: Harness, tmp_path: Path) -> None:
    expected = write_tree(tmp_path, 6, meta_every=2)

    report = await harness.upload_paths([tmp_path], blocking=False)

    assert (report.total_files, report.successful_upload_count, report.session_ids) == (6, 6, ())
    assert report.ingestion is None
    listed = {file.name: file.meta for file in await harness.files()}
    assert listed == expected
    assert await harness.sessions() == []


async def test_direct_threshold_counts_files_plus_sidecars(harness: Harness, tmp_path: Path) -> None:
    # 11 files + 10 sidecars = 21 objects > 20: the session route, like the official SDK.
    write_tree(tmp_path, 11, meta_every=1)
    (tmp_path / "doc00010.txt.meta.json").unlink()

    report = await harness.upload_paths([tmp_path])

    assert len(report.session_ids) == 1
    assert report.total_files == 21


async def test_streamed_large_file_arrives_intact(harness: Harness, tmp_path: Path) -> None:
    payload = bytes(range(256)) * 1200  # 300 KiB, streamed in chunks with a 1 KiB threshold
    big = tmp_path / "big file é.pdf"
    big.write_bytes(payload)
    (tmp_path / "big file é.pdf.meta.json").write_text('{"size": "big"}')

    report = await harness.upload_paths(
        [tmp_path], settings=harness.settings(stream_threshold_bytes=1024, direct_upload_threshold=0)
    )

    assert report.failed == ()
    [listed] = await harness.files()
    assert (listed.name, listed.size, listed.meta) == ("big file é.pdf", len(payload), {"size": "big"})
    downloaded = tmp_path / "downloaded"
    await harness.api.download_file(harness.workspace, listed.file_id, downloaded)
    assert downloaded.read_bytes() == payload


@pytest.mark.parametrize("direct_upload_threshold", [20, 0], ids=["direct", "session"])
async def test_write_modes(harness: Harness, tmp_path: Path, direct_upload_threshold: int) -> None:
    settings = harness.settings(direct_upload_threshold=direct_upload_threshold)
    file = tmp_path / "a.txt"
    sidecar = tmp_path / "a.txt.meta.json"
    file.write_text("v1")
    sidecar.write_text('{"v": 1}')
    await harness.upload_paths([tmp_path], settings=settings)

    file.write_text("v2")
    sidecar.write_text('{"v": 2}')
    keep = await harness.upload_paths([tmp_path], settings=settings, write_mode=WriteMode.KEEP)
    assert keep.failed == ()
    assert sorted(f.meta["v"] for f in await harness.files()) == [1, 2]

    sidecar.write_text('{"v": 3}')
    overwrite = await harness.upload_paths([tmp_path], settings=settings, write_mode=WriteMode.OVERWRITE)
    assert overwrite.failed == ()
    assert [f.meta for f in await harness.files()] == [{"v": 3}]

    sidecar.write_text('{"v": 4}')
    fail = await harness.upload_paths([tmp_path], settings=settings, write_mode=WriteMode.FAIL)
    if direct_upload_threshold:
        assert fail.failed_upload_count == 1
        assert fail.failed[0].file_name == "a.txt"
    else:
        # On the session path the conflict shows up in ingestion, not in the upload.
        assert fail.ingestion is not None
        assert (fail.ingestion.finished_files, fail.ingestion.failed_files) == (0, 1)
    assert [f.meta for f in await harness.files()] == [{"v": 3}]


async def test_every_input_file_is_uploaded_failed_or_skipped(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path / "docs", 24, meta_every=4)
    write_tree(tmp_path / "docs" / "nested", 3, prefix="dup")  # duplicates by name of ...
    write_tree(tmp_path / "other", 3, prefix="dup")  # ... these (one copy of each is skipped)
    (tmp_path / "docs" / "image.png").write_bytes(b"png")
    (tmp_path / "docs" / "notes.png.meta.json").write_text("{}")
    (tmp_path / "docs" / "notes.png").write_bytes(b"png")
    # One object is refused by the storage, permanently.
    harness.emulator.set_faults([{"route": "s3_post", "status": 403, "count": 1}])

    report = await harness.upload_paths([tmp_path / "docs", tmp_path / "other"], recursive=True)

    on_disk = sum(1 for path in tmp_path.rglob("*") if path.is_file())
    assert report.total_files + len(report.skipped) == on_disk
    assert report.successful_upload_count + report.failed_upload_count == report.total_files
    assert report.failed_upload_count >= 1
    assert {Path(skip.path).name for skip in report.skipped} >= {
        "image.png",
        "notes.png",
        "notes.png.meta.json",
    }
    assert sum(1 for skip in report.skipped if "duplicate name" in skip.reason) == 3
    failed_names = {result.file_name for result in report.failed}
    listed = {file.name for file in await harness.files()}
    assert listed.isdisjoint(failed_names)


async def test_broken_sidecars_fail_before_any_request(harness: Harness, tmp_path: Path) -> None:
    write_tree(tmp_path, 25)
    (tmp_path / "doc00000.txt.meta.json").write_text("{broken")
    (tmp_path / "lonely.txt.meta.json").write_text("{}")
    before = harness.emulator.stats()

    with pytest.raises(ConfigurationError) as caught:
        await harness.upload_paths([tmp_path, tmp_path / "missing.txt"])
    assert "missing.txt" in str(caught.value)

    # Given file by file (a folder alone streams: see test_folder_stream for its promise).
    with pytest.raises(ConfigurationError) as caught:
        await harness.upload_paths(sorted(tmp_path.iterdir()))
    assert "doc00000.txt.meta.json" in str(caught.value)
    assert "lonely.txt.meta.json" in str(caught.value)
    assert harness.emulator.stats()["requests"] == before["requests"]
    assert json.loads((tmp_path / "lonely.txt.meta.json").read_text()) == {}


@pytest.mark.parametrize("show_progress", [False, True])
async def test_progress_only_when_asked(
    harness: Harness, tmp_path: Path, capfd: pytest.CaptureFixture[str], show_progress: bool
) -> None:
    write_tree(tmp_path, 22)

    await harness.upload_paths([tmp_path], show_progress=show_progress)

    out, err = capfd.readouterr()
    assert out == ""
    if show_progress:
        assert "Upload" in err
        assert "Ingestion" in err
    else:
        assert err == ""
