"""Walk the local corpus as a stream of entries: nothing is sorted or held per folder.

Each regular file found becomes one `LocalEntry` (a file to sync, a sidecar, or a file kept out of the
sync with a reason); everything else found is reported through `on_skip`. Names are the base name, or
with `relative_names` the path below the folder that was given (`/`-separated), so two corpora on
different machines name their files the same way. An fsspec URL among the paths
(`s3://bucket/docs/`) is listed through `deepset_cloud._upload.sources` with the same rules; its
entries' paths are the objects' URLs.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Callable, Iterator, Sequence
from enum import IntEnum
from pathlib import Path
from typing import NamedTuple

from deepset_cloud._upload.sources import StorageOptions, is_url, walk_url
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import SkippedFile

__all__ = ["META_SUFFIX", "EntryKind", "LocalEntry", "file_suffix", "walk_corpus"]

META_SUFFIX = ".meta.json"


class EntryKind(IntEnum):
    """What a local entry is to the sync (stored as an integer in the plan database)."""

    FILE = 0
    SIDECAR = 1
    FILTERED = 2
    """Not of a selected type: neither uploaded nor deleted remotely."""
    EMPTY = 3
    """Empty: the platform rejects empty files, so it is skipped (and its remote copy kept)."""


class LocalEntry(NamedTuple):
    """One regular file of the corpus (a tuple: a million of them are made in a big walk)."""

    path: str
    name: str
    size: int
    mtime_ns: int
    kind: EntryKind


def file_suffix(name: str) -> str:
    """The lower-case suffix with its dot, or "" (a leading dot alone is no suffix, as in `Path`)."""
    base = name.rsplit("/", 1)[-1]
    dot = base.rfind(".")
    return base[dot:].lower() if dot > 0 else ""


def walk_corpus(
    paths: Sequence[Path | str],
    *,
    recursive: bool,
    file_types: frozenset[str],
    relative_names: bool,
    on_skip: Callable[[str, str], None],
    storage_options: StorageOptions | None = None,
) -> Iterator[LocalEntry]:
    """Yield every regular file under `paths` (files and folders), classified.

    Args:
        paths: files and folders, in the user's order.
        recursive: walk folders into all levels (else only their direct entries).
        file_types: selected suffixes, lower-case with a dot.
        relative_names: name files by their path below the given folder instead of their base name.
        on_skip: called with (path, reason) for everything found that is not a regular file or cannot
            be read.
        storage_options: options of the fsspec filesystems of URLs.

    Raises:
        ConfigurationError: a path does not exist (checked before anything is yielded); a URL cannot
            be listed (no such bucket, access denied, no credentials).
    """
    given = [os.fspath(path) if is_url(path) else os.path.abspath(os.fspath(path)) for path in paths]
    missing = [path for path in given if not is_url(path) and not os.path.lexists(path)]
    if missing:
        raise ConfigurationError(
            f"path does not exist: {', '.join(missing)}", missing_paths=tuple(Path(p) for p in missing)
        )
    for root in given:
        if is_url(root):
            yield from _walk_url(root, recursive, file_types, relative_names, on_skip, storage_options)
            continue
        try:
            status = os.stat(root)
        except OSError as exc:
            on_skip(root, f"cannot be read ({exc.strerror or exc})")
            continue
        if stat.S_ISREG(status.st_mode):
            yield _entry(root, os.path.basename(root), status, file_types)
        elif stat.S_ISDIR(status.st_mode):
            yield from _walk_folder(root, recursive, file_types, relative_names, on_skip)
        else:
            on_skip(root, "not a regular file or directory")


def _entry(path: str, name: str, status: os.stat_result, file_types: frozenset[str]) -> LocalEntry:
    return _classified(path, name, status.st_size, status.st_mtime_ns, file_types)


def _classified(path: str, name: str, size: int, mtime_ns: int, file_types: frozenset[str]) -> LocalEntry:
    if name.endswith(META_SUFFIX):
        kind = EntryKind.SIDECAR
    elif file_suffix(name) not in file_types:
        kind = EntryKind.FILTERED
    elif size == 0:
        kind = EntryKind.EMPTY
    else:
        kind = EntryKind.FILE
    return LocalEntry(path, name, size, mtime_ns, kind)


def _walk_url(
    root: str,
    recursive: bool,
    file_types: frozenset[str],
    relative_names: bool,
    on_skip: Callable[[str, str], None],
    storage_options: StorageOptions | None,
) -> Iterator[LocalEntry]:
    skipped: list[SkippedFile] = []
    cut = len(root.rstrip("/")) + 1
    for found, name, _, mtime_ns in walk_url(
        root, recursive=recursive, storage_options=storage_options, skipped=skipped
    ):
        for skip in skipped:
            on_skip(str(skip.path), skip.reason)
        skipped.clear()
        url = found.url
        yield _classified(
            url, url[cut:] if relative_names and url != root else name, found.size or 0, mtime_ns, file_types
        )
    for skip in skipped:
        on_skip(str(skip.path), skip.reason)


def _walk_folder(
    root: str,
    recursive: bool,
    file_types: frozenset[str],
    relative_names: bool,
    on_skip: Callable[[str, str], None],
) -> Iterator[LocalEntry]:
    # Names below `root` are the path with this prefix cut off: no relpath call per file.
    cut = len(os.path.join(root, ""))
    pending = [root]
    while pending:
        folder = pending.pop()
        try:
            scan = os.scandir(folder)
        except OSError as exc:
            on_skip(folder, f"cannot be listed ({exc.strerror or exc})")
            continue
        with scan:
            for entry in scan:  # streamed: a folder of a million files is never held in memory
                path = entry.path
                try:
                    is_folder = entry.is_dir(follow_symlinks=False)
                    status = entry.stat()  # follows a link to a file
                except OSError as exc:
                    on_skip(path, f"cannot be read ({exc.strerror or exc})")
                    continue
                if is_folder:
                    if recursive:
                        pending.append(path)
                    else:
                        on_skip(path, "directory (recursive=False)")
                elif stat.S_ISDIR(status.st_mode):
                    on_skip(path, "symbolic link to a directory (not followed)")
                elif stat.S_ISREG(status.st_mode):
                    name = path[cut:].replace(os.sep, "/") if relative_names else entry.name
                    yield _entry(path, name, status, file_types)
                else:
                    on_skip(path, "not a regular file")
