"""The per-object file reads of the upload hot path, and duplicate detection across spellings of a path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepset_cloud._http.storage import INLINE_READ_BYTES, _read_if_tiny
from deepset_cloud._upload.discovery import discover_paths, normalize_file_types, validate_sidecar


@pytest.mark.parametrize("size", [0, 1, 4096, INLINE_READ_BYTES])
def test_tiny_files_are_read_whole(tmp_path: Path, size: int) -> None:
    content = os.urandom(size)
    path = tmp_path / "tiny.bin"
    path.write_bytes(content)

    assert _read_if_tiny(path) == (size, content)


def test_larger_files_only_report_their_size(tmp_path: Path) -> None:
    path = tmp_path / "large.bin"
    path.write_bytes(b"x" * (INLINE_READ_BYTES + 1))

    assert _read_if_tiny(path) == (INLINE_READ_BYTES + 1, None)


def test_a_missing_file_raises_oserror(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        _read_if_tiny(tmp_path / "gone.txt")


def test_sidecar_validation_reads_the_whole_file(tmp_path: Path) -> None:
    sidecar = tmp_path / "big.txt.meta.json"
    sidecar.write_text('{"padding": "' + "x" * 200_000 + '"}')
    empty = tmp_path / "empty.txt.meta.json"
    empty.write_bytes(b"")

    assert validate_sidecar(sidecar) is None
    assert (validate_sidecar(empty) or "").startswith("is not valid JSON")


def test_a_folder_given_relative_and_absolute_uploads_each_file_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "docs" / "sub").mkdir(parents=True)
    for name in ("a.txt", "sub/b.txt"):
        (tmp_path / "docs" / name).write_text(name)
    monkeypatch.chdir(tmp_path)

    found = discover_paths(
        [Path("docs"), tmp_path / "docs", Path("./docs/sub/../a.txt")],
        recursive=True,
        file_types=normalize_file_types(None),
    )

    assert sorted(file.name for file in found.files) == ["a.txt", "b.txt"]
    assert {skip.path: skip.reason for skip in found.skipped} == {
        tmp_path / "docs" / "a.txt": "listed more than once",
        tmp_path / "docs" / "sub" / "b.txt": "listed more than once",
        Path("docs/sub/../a.txt"): "listed more than once",
    }
