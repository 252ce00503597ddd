"""One naming rule on every path: names are stored verbatim, refused up front, never collapsed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from deepset_cloud._upload.discovery import DEFAULT_FILE_TYPES, discover_paths
from deepset_cloud._upload.names import name_problem
from deepset_cloud._upload.sources import RemoteObject
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import DeepsetCloudFile

from ._harness import Harness

pytestmark = pytest.mark.anyio

TRICKY = [
    "a#b.txt",
    "a%b.txt",
    "a[b.txt",
    "pct%20.txt",
    "a_b.txt",
    "my file.txt",
    "résumé.txt",
    "q'uote\".txt",
]


@pytest.mark.parametrize("padding", [0, 30], ids=["direct", "session"])
async def test_tricky_names_are_stored_verbatim_on_both_paths(
    harness: Harness, tmp_path: Path, padding: int
) -> None:
    names = TRICKY + [f"pad{index:02}.txt" for index in range(padding)]
    for name in names:
        (tmp_path / name).write_text(f"content of {name}")

    report = await harness.upload_paths([tmp_path])

    assert report.failed == ()
    assert report.successful_upload_count == len(names)
    assert sorted(file.name for file in await harness.files()) == sorted(names)


@pytest.mark.parametrize("count", [3, 25], ids=["direct", "session"])
async def test_in_memory_names_are_stored_verbatim_on_both_paths(harness: Harness, count: int) -> None:
    names = [TRICKY[index % len(TRICKY)].replace(".txt", f"-{index}.txt") for index in range(count)]
    files = [DeepsetCloudFile(text=f"text {name}", name=name, meta={"n": name}) for name in names]

    report = await harness.upload_memory(files)

    assert report.failed == ()
    assert {file.name: file.meta for file in await harness.files()} == {name: {"n": name} for name in names}


@pytest.mark.parametrize("name", ["", " ", ".", "..", "a/b.txt", "a\\b.txt", "tab\t.txt", "nul\x00.txt"])
def test_names_that_cannot_be_stored_are_named(name: str) -> None:
    assert name_problem(name) is not None


@pytest.mark.parametrize("count", [2, 25], ids=["direct", "session"])
async def test_bad_in_memory_names_and_empty_files_are_refused_before_any_request(
    harness: Harness, count: int
) -> None:
    files = [DeepsetCloudFile(text="x", name=f"ok{index}.txt") for index in range(count)]
    files += [DeepsetCloudFile(text="x", name="dir/a.txt"), DeepsetCloudFile(text="", name="empty.txt")]
    before = harness.emulator.stats()["requests"]

    with pytest.raises(ConfigurationError) as caught:
        await harness.upload_memory(files)

    assert "path separator" in str(caught.value)
    assert "'empty.txt'" in str(caught.value)
    assert "empty (0 bytes)" in str(caught.value)
    assert harness.emulator.stats()["requests"] == before


def discover(
    *paths: Path, given_filtered: bool = True
) -> tuple[dict[str, Path | RemoteObject | None], dict[Path | str, str]]:
    found = discover_paths(
        list(paths),
        recursive=True,
        file_types=frozenset(DEFAULT_FILE_TYPES),
        filter_given_files=given_filtered,
    )
    return {file.name: file.sidecar for file in found.files}, {
        skip.path: skip.reason for skip in found.skipped
    }


def test_empty_files_are_skipped_with_a_reason(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "full.txt").write_text("x")

    files, skipped = discover(tmp_path)

    assert list(files) == ["full.txt"]
    assert "empty file (0 bytes)" in skipped[tmp_path / "empty.txt"]


def test_a_sidecar_never_moves_to_another_folders_copy(tmp_path: Path) -> None:
    old, new = tmp_path / "a", tmp_path / "b"
    old.mkdir()
    new.mkdir()
    (old / "x.txt").write_text("older")
    (old / "x.txt.meta.json").write_text(json.dumps({"from": "a"}))
    (new / "x.txt").write_text("newer")
    os.utime(old / "x.txt", (1_000_000, 1_000_000))

    files, skipped = discover(tmp_path)

    assert files == {"x.txt": None}  # the newer copy is uploaded without the older copy's metadata
    assert "duplicate name" in skipped[old / "x.txt"]
    assert "is skipped" in skipped[old / "x.txt.meta.json"]


def test_a_lone_sidecar_elsewhere_still_pairs_by_name(tmp_path: Path) -> None:
    (tmp_path / "docs").mkdir()
    (tmp_path / "meta").mkdir()
    (tmp_path / "docs" / "x.txt").write_text("x")
    (tmp_path / "meta" / "x.txt.meta.json").write_text("{}")

    files, skipped = discover(tmp_path)

    assert files == {"x.txt": tmp_path / "meta" / "x.txt.meta.json"}
    assert skipped == {}


def test_explicit_files_of_other_types_are_uploaded_unless_types_are_chosen(tmp_path: Path) -> None:
    (tmp_path / "notes.log").write_text("log line")
    (tmp_path / "folder").mkdir()
    (tmp_path / "folder" / "found.log").write_text("log line")

    files, skipped = discover(tmp_path / "notes.log", tmp_path / "folder", given_filtered=False)
    assert list(files) == ["notes.log"]  # like the official SDK: an explicitly listed file is uploaded
    assert "unsupported file type '.log'" in skipped[tmp_path / "folder" / "found.log"]

    files, skipped = discover(tmp_path / "notes.log", given_filtered=True)
    assert files == {}
    assert "unsupported file type '.log'" in skipped[tmp_path / "notes.log"]


async def test_upload_file_paths_uploads_a_listed_log_file(harness: Harness, tmp_path: Path) -> None:
    (tmp_path / "notes.log").write_text("log line")

    report = await harness.upload_paths([tmp_path / "notes.log"])

    assert (report.successful_upload_count, report.skipped) == (1, ())
    assert [file.name for file in await harness.files()] == ["notes.log"]
