"""Find the files an upload sends: walk paths, filter by type, de-duplicate names, pair sidecars.

Pure, blocking file-system code with no network of its own (fsspec URLs are listed through
`deepset_cloud._upload.sources`, with exactly the same rules): the pipeline runs `discover_paths` in a
worker thread. Every path found is either kept or reported as a `SkippedFile` with a reason; every problem
the server would trip over later (a missing path, a broken or orphaned sidecar) is raised here as one
`ConfigurationError` naming all offenders, before any request is sent. (One folder alone is streamed
by `folder_stream` instead, with the same rules.)

Rules:
- A file is stored under its base name, verbatim (`deepset_cloud._upload.names`); a file whose name cannot
  be stored (a backslash or control character in it) is skipped with the reason, and so is an empty file
  (0 bytes: the server fails its ingestion with EMPTY_FILE).
- Files found in folders are filtered by type (`file_types`); a file given explicitly is uploaded whatever
  its type unless the caller chose the types (as the official SDK does since 1.5.0: no type restriction).
- A sidecar is a file whose name ends with `.meta.json` (case-sensitive). It belongs to the file beside it
  (same folder, its name minus that suffix, case-sensitive). A sidecar with no file beside it pairs by
  name with the kept file of that name elsewhere in the given paths (the server pairs by name within a
  session), but only if that file has no sidecar of its own and is the only file of that name. Sidecars
  are not filtered by type; a sidecar whose file was skipped is skipped too.
- Names must be unique within a session, so of several files with the same base name only the most
  recently modified is kept (the first found on a tie) and the others are reported as skipped; a sidecar
  of a skipped copy is skipped with it, never given to the kept one.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import NamedTuple

import attrs

from deepset_cloud._fileio import read_file
from deepset_cloud._upload.names import name_problem
from deepset_cloud._upload.sources import RemoteObject, StorageOptions, is_url, walk_url
from deepset_cloud.errors import ConfigurationError, UploadError
from deepset_cloud.models import SkippedFile

__all__ = [
    "DEFAULT_FILE_TYPES",
    "META_SUFFIX",
    "EMPTY_FILE_REASON",
    "DiscoveredFile",
    "Discovery",
    "discover_paths",
    "normalize_file_types",
    "validate_sidecar",
]

META_SUFFIX = ".meta.json"
EMPTY_FILE_REASON = "empty file (0 bytes): deepset Cloud does not ingest empty files"

DEFAULT_FILE_TYPES: tuple[str, ...] = (
    ".txt",
    ".pdf",
    ".docx",
    ".pptx",
    ".xlsx",
    ".xml",
    ".csv",
    ".html",
    ".md",
    ".json",
)


@attrs.frozen(kw_only=True)
class DiscoveredFile:
    """A file to upload under its base name, with the sidecar that carries its metadata (if any)."""

    path: Path | RemoteObject
    name: str
    size: int
    sidecar: Path | RemoteObject | None = None


@attrs.frozen(kw_only=True)
class Discovery:
    """The outcome of discovery: the files to upload and everything found but not uploaded."""

    files: tuple[DiscoveredFile, ...]
    skipped: tuple[SkippedFile, ...]

    @property
    def object_count(self) -> int:
        """Objects a session upload posts: every file plus every sidecar."""
        return len(self.files) + sum(1 for file in self.files if file.sidecar is not None)


class _Candidate(NamedTuple):
    # A tuple, not an attrs class: one is made for every file found, and a tuple is cheaper to build.
    path: Path | RemoteObject
    mtime_ns: int
    size: int
    order: int


def normalize_file_types(desired_file_types: Iterable[str] | None) -> frozenset[str]:
    """Return the lower-cased suffixes (with leading dot) to upload; None means `DEFAULT_FILE_TYPES`.

    Raises:
        ConfigurationError: an entry is empty or not a string.
    """
    if desired_file_types is None:
        return frozenset(DEFAULT_FILE_TYPES)
    if isinstance(desired_file_types, str):
        desired_file_types = [desired_file_types]
    normalized: set[str] = set()
    for entry in desired_file_types:
        if not isinstance(entry, str):
            raise ConfigurationError(f"desired_file_types contains a non-string: {entry!r}")
        if not entry.strip(". \t"):
            raise ConfigurationError(f"desired_file_types contains an invalid file type: {entry!r}")
        text = entry.strip().lower()
        normalized.add(text if text.startswith(".") else f".{text}")
    return frozenset(normalized)


def _suffix(name: str) -> str:
    # Path.suffix treats ".bashrc" as having no suffix; we do the same.
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


def validate_sidecar(path: Path | RemoteObject) -> str | None:
    """Return why the sidecar at `path` is unusable, or None if it holds a JSON object."""
    try:
        raw = path.read() if isinstance(path, RemoteObject) else read_file(path)[1]
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    except UploadError as exc:
        return str(exc)
    try:
        value = json.loads(raw)
    except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
        return f"is not valid JSON ({exc})"
    if not isinstance(value, dict):
        return f"must hold a JSON object, not {type(value).__name__}"
    return None


def discover_paths(
    paths: Sequence[Path | str],
    *,
    recursive: bool,
    file_types: frozenset[str],
    storage_options: StorageOptions | None = None,
    filter_given_files: bool = True,
) -> Discovery:
    """Collect the files and sidecars to upload from files and folders.

    Args:
        paths: files and folders, in the user's order; fsspec URLs (`s3://bucket/prefix/`) too.
        recursive: whether folders are walked into all levels (else only their direct entries).
        file_types: suffixes to upload, lower-case with leading dot (see `normalize_file_types`).
        storage_options: options of the fsspec filesystems of URLs.
        filter_given_files: whether files given explicitly (not found in a folder) are filtered by type
            too; False when the caller did not choose the types.

    Returns:
        The files to upload (each with its sidecar) and every skipped path with its reason.

    Raises:
        ConfigurationError: a path does not exist, or sidecars are broken (every one named at once); a
            URL cannot be listed (no such bucket, access denied, no credentials), naming the URL.
    """
    given = [path if is_url(path) else Path(os.fspath(path)) for path in paths]
    missing = [path for path in given if isinstance(path, Path) and not os.path.lexists(path)]
    if missing:
        listed = ", ".join(str(path) for path in missing)
        raise ConfigurationError(f"path does not exist: {listed}", missing_paths=tuple(missing))

    skipped: list[SkippedFile] = []
    files_by_name: dict[str, list[_Candidate]] = {}
    sidecars_by_name: dict[str, list[_Candidate]] = {}
    filtered_names: set[str] = set()
    seen: set[str] = set()
    # One path given: a walk that follows no directory links cannot reach a file twice.
    may_repeat = len(given) > 1
    given_keys = (
        frozenset()
        if filter_given_files
        else frozenset(path if isinstance(path, str) else os.path.abspath(path) for path in given)
    )
    order = 0

    for path, name, key, mtime_ns, size in _walk(
        given, recursive=recursive, skipped=skipped, storage_options=storage_options
    ):
        if may_repeat:
            if key in seen:
                skipped.append(SkippedFile(path=_shown(path), reason="listed more than once"))
                continue
            seen.add(key)
        candidate = _Candidate(path=path, mtime_ns=mtime_ns, size=size, order=order)
        order += 1
        if name.endswith(META_SUFFIX):
            sidecars_by_name.setdefault(name[: -len(META_SUFFIX)], []).append(candidate)
            continue
        problem = name_problem(name)
        if problem is not None:
            skipped.append(
                SkippedFile(path=_shown(path), reason=f"cannot be stored under its name: {problem}")
            )
            filtered_names.add(name)
            continue
        suffix = _suffix(name)
        if suffix not in file_types and key not in given_keys:
            reason = f"unsupported file type {suffix!r}" if suffix else "no file extension"
            allowed = ", ".join(sorted(file_types))
            skipped.append(SkippedFile(path=_shown(path), reason=f"{reason} (uploading: {allowed})"))
            filtered_names.add(name)
            continue
        if candidate.size == 0 and not (isinstance(path, RemoteObject) and path.size is None):
            skipped.append(SkippedFile(path=_shown(path), reason=EMPTY_FILE_REASON))
            filtered_names.add(name)
            continue
        files_by_name.setdefault(name, []).append(candidate)

    kept: dict[str, _Candidate] = {}
    for name, candidates in files_by_name.items():
        if len(candidates) == 1:  # the common case
            kept[name] = candidates[0]
            continue
        newest = max(candidates, key=lambda c: (c.mtime_ns, -c.order))
        kept[name] = newest
        for other in candidates:
            if other is not newest:
                shown = _shown(newest.path)
                reason = f"duplicate name {name!r}: the more recently modified {shown} is uploaded"
                skipped.append(SkippedFile(path=_shown(other.path), reason=reason))

    sidecar_of: dict[str, Path | RemoteObject] = {}
    broken: list[tuple[Path | str, str]] = []
    for target, candidates in sidecars_by_name.items():
        copies = files_by_name.get(target, [])
        if target not in kept:
            for candidate in candidates:
                if target in filtered_names:
                    reason = f"its file {target!r} is skipped"
                    skipped.append(SkippedFile(path=_shown(candidate.path), reason=reason))
                else:
                    broken.append((_shown(candidate.path), f"no file named {target!r} to pair with"))
            continue
        chosen, reasons = _pair_sidecar(kept[target].path, target, candidates, copies)
        if chosen is not None:
            sidecar_of[target] = chosen.path
        skipped.extend(SkippedFile(path=path, reason=reason) for path, reason in reasons)

    for sidecar in sidecar_of.values():
        problem = validate_sidecar(sidecar)
        if problem is not None:
            broken.append((_shown(sidecar), problem))
    if broken:
        broken.sort(key=lambda item: str(item[0]))
        details = "; ".join(f"{path}: {reason}" for path, reason in broken)
        raise ConfigurationError(
            f"{len(broken)} invalid metadata sidecar(s): {details}", broken_sidecars=tuple(broken)
        )

    files = tuple(
        DiscoveredFile(path=candidate.path, name=name, size=candidate.size, sidecar=sidecar_of.get(name))
        for name, candidate in sorted(kept.items(), key=lambda item: item[1].order)
    )
    return Discovery(files=files, skipped=tuple(skipped))


def _shown(path: Path | RemoteObject) -> Path | str:
    """How a path appears in reports and errors: a local path, or an object's URL."""
    return path.url if isinstance(path, RemoteObject) else path


def _folder(path: Path | RemoteObject) -> str:
    return path.url.rpartition("/")[0] if isinstance(path, RemoteObject) else str(path.parent)


def _pair_sidecar(
    file_path: Path | RemoteObject, target: str, candidates: list[_Candidate], copies: list[_Candidate]
) -> tuple[_Candidate | None, list[tuple[Path | str, str]]]:
    """Return the sidecar of the kept file `file_path` and why each other sidecar of `target` is skipped.

    The sidecar beside the file wins. Without one, a lone sidecar pairs by name, but only when the file
    is the only one of its name: a sidecar beside a skipped copy never moves to the kept file.
    """
    beside: Path | str
    if isinstance(file_path, RemoteObject):
        beside = file_path.url + META_SUFFIX
    else:
        beside = file_path.parent / f"{file_path.name}{META_SUFFIX}"
    chosen = next((candidate for candidate in candidates if _shown(candidate.path) == beside), None)
    if chosen is None and len(candidates) == 1 and len(copies) == 1:
        chosen = candidates[0]  # e.g. sidecars kept in a folder of their own
    reasons: list[tuple[Path | str, str]] = []
    shown = _shown(file_path)
    copy_folders = {_folder(copy.path) for copy in copies if copy.path is not file_path}
    for candidate in candidates:
        if candidate is chosen:
            continue
        if _folder(candidate.path) in copy_folders:
            reason = f"its file {target!r} is skipped (another file of that name is uploaded: {shown})"
        elif chosen is not None:
            reason = f"another sidecar for {target!r} is uploaded: {_shown(chosen.path)}"
        else:
            reason = f"not beside {shown}, and {target!r} has several files or sidecars: which is whose?"
        reasons.append((_shown(candidate.path), reason))
    return chosen, reasons


_Found = tuple[Path | RemoteObject, str, str, int, int]
"""A regular file or object: its path, its name, its key against listing it twice (the absolute path or
the URL), its modification time in ns, its size."""


def _walk(
    given: list[Path | str],
    *,
    recursive: bool,
    skipped: list[SkippedFile],
    storage_options: StorageOptions | None,
) -> Iterator[_Found]:
    """Yield every regular file or object under `given`; record everything else as skipped."""
    for path in given:
        if isinstance(path, str):
            for found, name, key, mtime_ns in walk_url(
                path, recursive=recursive, storage_options=storage_options, skipped=skipped
            ):
                yield found, name, key, mtime_ns, found.size or 0
            continue
        try:
            status = path.stat()
        except OSError as exc:
            skipped.append(SkippedFile(path=path, reason=f"cannot be read ({exc.strerror or exc})"))
            continue
        if stat.S_ISREG(status.st_mode):
            yield path, path.name, os.path.abspath(path), status.st_mtime_ns, status.st_size
        elif stat.S_ISDIR(status.st_mode):
            yield from _walk_directory(path, recursive=recursive, skipped=skipped)
        else:
            skipped.append(SkippedFile(path=path, reason="not a regular file or directory"))


def _walk_directory(directory: Path, *, recursive: bool, skipped: list[SkippedFile]) -> Iterator[_Found]:
    pending = [directory]
    while pending:
        current = pending.pop()
        try:
            with os.scandir(current) as scan:
                # Reverse name order, popped from the end: each entry (and the stat it caches) is freed
                # as soon as it is handled, so a big folder's entries are not all held at once.
                entries = sorted(scan, key=lambda entry: entry.name, reverse=True)
        except OSError as exc:
            skipped.append(SkippedFile(path=current, reason=f"cannot be listed ({exc.strerror or exc})"))
            continue
        # An entry's name has no separator and is never "." or "..": joining it onto the folder's
        # absolute path gives exactly `os.path.abspath` of the entry, without normalising every path.
        absolute = os.path.join(os.path.abspath(current), "")
        subdirectories: list[Path] = []
        while entries:
            entry = entries.pop()
            name = entry.name
            path = current / name
            try:
                is_directory = entry.is_dir(follow_symlinks=False)
                status = entry.stat()  # follows symlinks to files
            except OSError as exc:
                skipped.append(SkippedFile(path=path, reason=f"cannot be read ({exc.strerror or exc})"))
                continue
            if is_directory:
                if recursive:
                    subdirectories.append(path)
                else:
                    skipped.append(SkippedFile(path=path, reason="directory (recursive=False)"))
            elif stat.S_ISDIR(status.st_mode):
                skipped.append(SkippedFile(path=path, reason="symbolic link to a directory (not followed)"))
            elif stat.S_ISREG(status.st_mode):
                yield path, name, absolute + name, status.st_mtime_ns, status.st_size
            else:
                skipped.append(SkippedFile(path=path, reason="not a regular file"))
        # Depth-first in name order: reversed so the first subdirectory is walked first.
        pending.extend(reversed(subdirectories))
