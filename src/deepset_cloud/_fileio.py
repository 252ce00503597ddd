"""Reading a whole small file with as few system calls as possible (runs once per sidecar and object)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import overload

__all__ = ["read_file"]

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
_FOLLOW_UP_READ_BYTES = 64 * 1024


@overload
def read_file(path: Path, max_bytes: None = None) -> tuple[int, bytes]: ...
@overload
def read_file(path: Path, max_bytes: int) -> tuple[int, bytes | None]: ...
def read_file(path: Path, max_bytes: int | None = None) -> tuple[int, bytes | None]:
    """Return the file's size and its content, or None for the content if the size exceeds `max_bytes`.

    One open, fstat and read on the descriptor: no separate stat call, no buffered file object. Like
    `Path.read_bytes`, it reads to the end even if the file grew since the fstat.

    Raises:
        OSError: the file cannot be opened or read.
    """
    fd = os.open(path, _OPEN_FLAGS)
    try:
        size = os.fstat(fd).st_size
        if max_bytes is not None and size > max_bytes:
            return size, None
        chunks: list[bytes] = []
        want = size + 1  # a file that did not grow is read in one call; the next one returns b""
        while chunk := os.read(fd, want):
            chunks.append(chunk)
            want = _FOLLOW_UP_READ_BYTES
        return size, b"".join(chunks)
    finally:
        os.close(fd)
