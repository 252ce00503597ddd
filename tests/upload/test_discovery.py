"""Discovery and sidecar validation: pure file-system logic, no server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from deepset_cloud._upload.discovery import (
    DEFAULT_FILE_TYPES,
    Discovery,
    discover_paths,
    normalize_file_types,
)
from deepset_cloud.errors import ConfigurationError


def write(path: Path, content: str = "x", *, mtime: int | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content)
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


def discover(*paths: Path | str, recursive: bool = False, types: list[str] | None = None) -> Discovery:
    return discover_paths(list(paths), recursive=recursive, file_types=normalize_file_types(types))


def names(discovery: Discovery) -> list[str]:
    return [file.name for file in discovery.files]


def skipped_reasons(discovery: Discovery) -> dict[str, str]:
    return {Path(skip.path).name: skip.reason for skip in discovery.skipped}


def test_normalize_file_types_accepts_dots_case_and_default() -> None:
    assert normalize_file_types(None) == frozenset(DEFAULT_FILE_TYPES)
    assert normalize_file_types(["TXT", ".Pdf", " md "]) == {".txt", ".pdf", ".md"}
    assert normalize_file_types("csv") == {".csv"}


@pytest.mark.parametrize("bad", [[""], ["."], [" "]])
def test_normalize_file_types_rejects_empty_entries(bad: list[str]) -> None:
    with pytest.raises(ConfigurationError, match="invalid file type"):
        normalize_file_types(bad)


def test_folder_without_recursion_takes_direct_files_and_reports_subfolders(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    write(tmp_path / "b.pdf")
    write(tmp_path / "sub" / "c.txt")

    found = discover(tmp_path)

    assert names(found) == ["a.txt", "b.pdf"]
    assert skipped_reasons(found) == {"sub": "directory (recursive=False)"}


def test_recursive_walk_finds_every_level(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    write(tmp_path / "sub" / "b.md")
    write(tmp_path / "sub" / "deeper" / "c.json")

    found = discover(tmp_path, recursive=True)

    assert sorted(names(found)) == ["a.txt", "b.md", "c.json"]
    assert found.skipped == ()


def test_type_filter_is_case_insensitive_and_reports_unsupported(tmp_path: Path) -> None:
    write(tmp_path / "upper.TXT")
    write(tmp_path / "mixed.Pdf")
    write(tmp_path / "image.png")
    write(tmp_path / "Makefile")

    found = discover(tmp_path)

    assert sorted(names(found)) == ["mixed.Pdf", "upper.TXT"]
    reasons = skipped_reasons(found)
    assert reasons["image.png"].startswith("unsupported file type '.png'")
    assert reasons["Makefile"].startswith("no file extension")


def test_desired_file_types_replace_the_default(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    write(tmp_path / "b.png")

    found = discover(tmp_path, types=["PNG"])

    assert names(found) == ["b.png"]
    assert "a.txt" in skipped_reasons(found)


def test_explicit_file_paths_are_filtered_too(tmp_path: Path) -> None:
    text = write(tmp_path / "a.txt")
    image = write(tmp_path / "b.png")

    found = discover(text, image)

    assert names(found) == ["a.txt"]
    assert list(skipped_reasons(found)) == ["b.png"]


def test_missing_paths_are_all_named_before_anything_else(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    first, second = tmp_path / "nope", tmp_path / "gone.txt"

    with pytest.raises(ConfigurationError) as caught:
        discover(tmp_path, first, second)

    assert str(first) in str(caught.value)
    assert str(second) in str(caught.value)
    assert caught.value.missing_paths == (first, second)


def test_duplicate_names_keep_the_most_recently_modified(tmp_path: Path) -> None:
    old = write(tmp_path / "one" / "a.txt", "old", mtime=1_000_000)
    new = write(tmp_path / "two" / "a.txt", "new", mtime=2_000_000)
    older = write(tmp_path / "three" / "a.txt", "older", mtime=500_000)

    found = discover(tmp_path, recursive=True)

    assert [file.path for file in found.files] == [new]
    skipped = {skip.path: skip.reason for skip in found.skipped}
    assert set(skipped) == {old, older}
    assert all("duplicate name 'a.txt'" in reason for reason in skipped.values())


def test_names_differing_in_case_are_not_duplicates(tmp_path: Path) -> None:
    write(tmp_path / "File00.txt")
    write(tmp_path / "sub" / "file00.txt")

    found = discover(tmp_path, recursive=True)

    assert sorted(names(found)) == ["File00.txt", "file00.txt"]


def test_the_same_file_listed_twice_is_uploaded_once(tmp_path: Path) -> None:
    file = write(tmp_path / "a.txt")

    found = discover(tmp_path, file)

    assert names(found) == ["a.txt"]
    assert [(skip.path, skip.reason) for skip in found.skipped] == [(file, "listed more than once")]


def test_sidecars_pair_by_exact_name_and_skip_the_type_filter(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    meta = write(tmp_path / "a.txt.meta.json", '{"k": 1}')
    write(tmp_path / "b.pdf")

    found = discover(tmp_path)

    by_name = {file.name: file for file in found.files}
    assert by_name["a.txt"].sidecar == meta
    assert by_name["b.pdf"].sidecar is None
    assert found.object_count == 3


def test_sidecar_in_another_folder_pairs_by_name(tmp_path: Path) -> None:
    write(tmp_path / "docs" / "a.txt")
    meta = write(tmp_path / "metas" / "a.txt.meta.json", "{}")

    found = discover(tmp_path, recursive=True)

    assert [(file.name, file.sidecar) for file in found.files] == [("a.txt", meta)]


def test_sidecar_beside_the_kept_duplicate_wins(tmp_path: Path) -> None:
    write(tmp_path / "old" / "a.txt", mtime=1_000_000)
    old_meta = write(tmp_path / "old" / "a.txt.meta.json", '{"v": "old"}', mtime=3_000_000)
    write(tmp_path / "new" / "a.txt", mtime=2_000_000)
    new_meta = write(tmp_path / "new" / "a.txt.meta.json", '{"v": "new"}', mtime=2_000_000)

    found = discover(tmp_path, recursive=True)

    assert found.files[0].sidecar == new_meta
    skipped = {skip.path for skip in found.skipped}
    assert old_meta in skipped


def test_sidecar_of_a_filtered_file_is_skipped_not_an_error(tmp_path: Path) -> None:
    write(tmp_path / "a.png")
    write(tmp_path / "a.png.meta.json", "{}")

    found = discover(tmp_path)

    assert found.files == ()
    assert skipped_reasons(found)["a.png.meta.json"] == "its file 'a.png' is skipped"


def test_every_broken_sidecar_is_named_at_once(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    invalid = write(tmp_path / "a.txt.meta.json", "{not json")
    write(tmp_path / "b.txt")
    not_object = write(tmp_path / "b.txt.meta.json", "[1, 2]")
    orphan = write(tmp_path / "ghost.txt.meta.json", "{}")
    write(tmp_path / "c.txt")
    write(tmp_path / "c.txt.meta.json", '{"fine": true}')

    with pytest.raises(ConfigurationError) as caught:
        discover(tmp_path)

    message = str(caught.value)
    assert message.startswith("3 invalid metadata sidecar(s)")
    assert f"{invalid}: is not valid JSON" in message
    assert f"{not_object}: must hold a JSON object, not list" in message
    assert f"{orphan}: no file named 'ghost.txt' to pair with" in message
    broken = dict(caught.value.broken_sidecars)
    assert set(broken) == {invalid, not_object, orphan}


def test_sidecar_with_invalid_utf8_is_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    bad = tmp_path / "a.txt.meta.json"
    bad.write_bytes(b'{"k": "\xff"}')

    with pytest.raises(ConfigurationError, match="is not valid JSON"):
        discover(tmp_path)


def test_sidecar_suffix_is_case_sensitive(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    write(tmp_path / "a.txt.META.JSON", "not even json")

    found = discover(tmp_path)

    # Not a sidecar: an ordinary (json) file, uploaded as such.
    assert sorted(names(found)) == ["a.txt", "a.txt.META.JSON"]
    assert all(file.sidecar is None for file in found.files)


def test_special_files_and_broken_links_are_reported(tmp_path: Path) -> None:
    write(tmp_path / "a.txt")
    os.mkfifo(tmp_path / "pipe.txt")
    (tmp_path / "dangling.txt").symlink_to(tmp_path / "missing")
    (tmp_path / "linked_dir").symlink_to(tmp_path, target_is_directory=True)

    found = discover(tmp_path, recursive=True)

    assert names(found) == ["a.txt"]
    reasons = skipped_reasons(found)
    assert reasons["pipe.txt"] == "not a regular file"
    assert reasons["dangling.txt"].startswith("cannot be read")
    assert reasons["linked_dir"] == "symbolic link to a directory (not followed)"


def test_accounting_every_file_is_kept_or_skipped(tmp_path: Path) -> None:
    for index in range(5):
        write(tmp_path / f"d{index % 2}" / f"f{index}.txt")
        write(tmp_path / f"d{index % 2}" / f"f{index}.png")
    write(tmp_path / "d0" / "f0.txt.meta.json", "{}")
    write(tmp_path / "d1" / "f0.txt", mtime=1)  # an older duplicate

    found = discover(tmp_path, recursive=True)

    on_disk = {path for path in tmp_path.rglob("*") if path.is_file()}
    kept = {file.path for file in found.files} | {file.sidecar for file in found.files if file.sidecar}
    skipped = {skip.path for skip in found.skipped}
    assert kept.isdisjoint(skipped)
    assert kept | skipped == on_disk
