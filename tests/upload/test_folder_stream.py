"""One folder is uploaded while it is being listed: same decisions as discovery, sidecars checked first."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from deepset_cloud._upload import folder_stream
from deepset_cloud._upload.discovery import discover_paths, normalize_file_types, validate_sidecar
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import UploadSessionStatusEnum

from ._harness import Harness, write_tree

pytestmark = pytest.mark.anyio


def _posts(harness: Harness) -> int:
    return int(harness.emulator.stats()["requests"].get("s3_post", 0))


def _wait_for_a_post(harness: Harness) -> bool:
    """Poll the emulator (deadline 30 s) until it has stored a post; return whether it has."""
    deadline = time.monotonic() + 30
    while _posts(harness) == 0 and time.monotonic() < deadline:
        time.sleep(0.005)
    return _posts(harness) > 0


async def test_broken_sidecars_are_all_named_and_nothing_is_ingested(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, 300, meta_every=2)
    (tmp_path / "doc00002.txt.meta.json").write_text("{broken")
    (tmp_path / "doc00299.txt.meta.json").write_text("[1, 2]")
    (tmp_path / "lonely.txt.meta.json").write_text("{}")
    checked_after_a_post = threading.Event()

    def validate_once_posts_went_out(path: Path) -> str | None:
        # The check waits for the first post: the error must come after posts, before any close.
        if not checked_after_a_post.is_set() and _wait_for_a_post(harness):
            checked_after_a_post.set()
        return validate_sidecar(path)

    monkeypatch.setattr(folder_stream, "validate_sidecar", validate_once_posts_went_out)

    with pytest.raises(ConfigurationError) as caught:
        await harness.upload_paths([tmp_path])

    assert {Path(path).name for path, _ in caught.value.broken_sidecars} == {
        "doc00002.txt.meta.json",
        "doc00299.txt.meta.json",
        "lonely.txt.meta.json",
    }
    assert checked_after_a_post.is_set()
    report = caught.value.upload_report
    assert report is not None
    assert report.successful_upload_count == 0
    # No session was closed, so nothing reached the workspace; whatever was opened expires unused.
    assert await harness.files() == []
    assert {session.status for session in await harness.sessions()} <= {UploadSessionStatusEnum.OPEN}


async def test_the_first_post_goes_out_while_the_folder_is_still_being_listed(
    harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_tree(tmp_path, 200)
    posted_mid_listing = threading.Event()

    class SlowListing:
        """Holds the listing after 50 entries until the emulator has stored a post (or 30 s passed)."""

        def __init__(self, folder: Path) -> None:
            self._entries = list(os.scandir(folder))

        def __enter__(self) -> Iterator[os.DirEntry[str]]:
            return self._iterate()

        def __exit__(self, *exc: object) -> None:
            return None

        def _iterate(self) -> Iterator[os.DirEntry[str]]:
            for index, entry in enumerate(self._entries):
                if index == 50 and _wait_for_a_post(harness):
                    posted_mid_listing.set()
                yield entry

    monkeypatch.setattr(folder_stream, "_scandir", SlowListing)

    report = await harness.upload_paths([tmp_path], blocking=False)

    assert posted_mid_listing.is_set()
    assert report.successful_upload_count == 200


async def test_a_streamed_folder_skips_and_pairs_like_discovery(harness: Harness, tmp_path: Path) -> None:
    expected = write_tree(tmp_path, 40, meta_every=4)
    (tmp_path / "image.png").write_bytes(b"png")
    (tmp_path / "image.png.meta.json").write_text("{}")
    (tmp_path / "noext").write_text("x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "deep.txt").write_text("deep")
    (tmp_path / "link-to-sub").symlink_to(tmp_path / "sub")
    (tmp_path / "link.txt").symlink_to(tmp_path / "doc00001.txt")
    expected["link.txt"] = {}
    found = discover_paths([tmp_path], recursive=False, file_types=normalize_file_types(None))

    report = await harness.upload_paths([tmp_path])

    def skipped(items: Any) -> set[tuple[Path, str]]:
        return {(item.path, item.reason) for item in items}

    assert skipped(report.skipped) == skipped(found.skipped)
    assert len(report.skipped) == 5
    assert report.failed == ()
    assert {file.name: file.meta for file in await harness.files()} == expected
    assert {file.name for file in found.files} == set(expected)


async def test_a_small_folder_with_a_broken_sidecar_fails_before_any_request(
    harness: Harness, tmp_path: Path
) -> None:
    write_tree(tmp_path, 8, meta_every=2)
    (tmp_path / "doc00002.txt.meta.json").write_text("{broken")
    before = harness.emulator.stats()["requests"]

    with pytest.raises(ConfigurationError, match=r"doc00002\.txt\.meta\.json"):
        await harness.upload_paths([tmp_path])

    assert harness.emulator.stats()["requests"] == before


@pytest.mark.parametrize("sidecars_first", [False, True], ids=["files-first", "sidecars-first"])
def test_pairs_go_out_once_whichever_entry_is_listed_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sidecars_first: bool
) -> None:
    names = [f"doc{index:03d}.txt" for index in range(60)]
    with_meta = set(names[::3])
    for name in names:
        (tmp_path / name).write_text(name)
        if name in with_meta:
            (tmp_path / f"{name}.meta.json").write_text("{}")
    entries = sorted(
        os.scandir(tmp_path), key=lambda entry: entry.name.endswith(".meta.json") != sidecars_first
    )

    class Listing:
        def __init__(self, folder: Path) -> None:
            assert folder == tmp_path

        def __enter__(self) -> Iterator[os.DirEntry[str]]:
            return iter(entries)

        def __exit__(self, *exc: object) -> None:
            return None

    monkeypatch.setattr(folder_stream, "_scandir", Listing)
    scan = folder_stream.FolderScan(tmp_path, normalize_file_types(None))

    sent = [bundle for batch in folder_stream.walk_folder(scan) for bundle in batch]

    assert sorted(bundle.file.name for bundle in sent) == names  # every file exactly once
    assert {bundle.file.name for bundle in sent if bundle.sidecar is not None} == with_meta
    assert all(
        bundle.sidecar.name == bundle.file.name + ".meta.json"
        for bundle in sent
        if bundle.sidecar is not None
    )
    assert scan.skipped == []
    if sidecars_first:  # the first batch needs no file entry: the sidecars bring their files along
        assert {bundle.file.name for bundle in sent[:20]} <= with_meta
