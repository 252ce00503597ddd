"""Reading a whole small file with as few system calls as possible (runs once per sidecar and object)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

__all__ = ["LocalPath", "read_file"]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_FIRST_READ_BYTES = 64 * 1024
_FOLLOW_UP_READ_BYTES = 64 * 1024


class LocalPath:
    """A local file's path as the string a directory listing gives: no `pathlib` parsing on the hot path.

    Building a `Path` per listed file and formatting it again for `open` costs more than the file's read;
    this keeps the string and is accepted wherever a path is (`os.PathLike`).
    """

    __slots__ = ("path",)

    def __init__(self, path: str) -> None:
        self.path = path

    def __fspath__(self) -> str:
        return self.path

    def __repr__(self) -> str:
        return f"LocalPath({self.path!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LocalPath) and other.path == self.path

    def __hash__(self) -> int:
        return hash(self.path)

    def as_path(self) -> Path:
        """The same path as a `Path`."""
        return Path(self.path)


@overload
def read_file(path: Path | LocalPath, max_bytes: None = None) -> tuple[int, bytes]: ...
@overload
def read_file(path: Path | LocalPath, max_bytes: int) -> tuple[int, bytes | None]: ...
def read_file(path: Path | LocalPath, max_bytes: int | None = None) -> tuple[int, bytes | None]:
    """Return the file's size and its content, or None for the content if the size exceeds `max_bytes`.

    A small file costs three system calls: open, one read asking for one byte more than the limit (a
    short read of a regular file is its end), close. Only a larger file is measured with fstat and read
    on, to the end even if it grew since the fstat (like `Path.read_bytes`). Meant for regular files
    (discovery hands over nothing else): on a pipe a short read would not be the end.

    Raises:
        OSError: the file cannot be opened or read.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        first = _FIRST_READ_BYTES if max_bytes is None else min(max_bytes, _FIRST_READ_BYTES)
        head = os.read(fd, first + 1)
        if len(head) <= first:
            return len(head), head
        size = os.fstat(fd).st_size
        if max_bytes is not None and size > max_bytes:
            return size, None
        chunks = [head]
        want = max(size - len(head), 0) + 1  # a file that did not grow is read in one more call
        while chunk := os.read(fd, want):
            chunks.append(chunk)
            want = _FOLLOW_UP_READ_BYTES
        return size, b"".join(chunks)
    finally:
        os.close(fd)
