"""The blob folder: contents too large to keep inline in SQLite, one file each.

Small contents (up to `INLINE_MAX_BYTES`) live in SQLite rows instead: creating one file per small S3
object costs far more (file-system metadata, journal) than appending its bytes to the WAL. Blob names
are a random per-run prefix plus a counter, spread over 256 shard folders; paths stored in SQLite are
relative to the data dir.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

__all__ = ["INLINE_MAX_BYTES", "BlobFolder"]

INLINE_MAX_BYTES = 64 * 1024
"""Contents up to this size are stored inline in SQLite rather than as blob files."""


class BlobFolder:
    """Blob files under `<data_dir>/blobs/<shard>/`, plus a spool folder for request bodies."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.root = data_dir / "blobs"
        self.spool_dir = data_dir / "spool"
        for folder in (self.root, self.spool_dir):
            folder.mkdir(parents=True, exist_ok=True)
        for leftover in self.spool_dir.iterdir():  # bodies of requests interrupted by a crash
            with contextlib.suppress(OSError):
                leftover.unlink()
        self._shards = [self.root / f"{shard:02x}" for shard in range(256)]
        for folder in self._shards:
            folder.mkdir(exist_ok=True)
        self._shard_names = [(folder, folder.name) for folder in self._shards]
        self._prefix = os.fspath(data_dir) + os.sep
        self._name_prefix = secrets.token_hex(6) + "-"
        self._counter = itertools.count()

    def _new(self) -> tuple[str, str]:
        """A fresh blob: (path relative to data_dir, absolute path)."""
        number = next(self._counter)
        relative = f"blobs/{number & 0xFF:02x}/{self._name_prefix}{number:x}"
        return relative, self._prefix + relative

    def next_shard(self) -> tuple[Path, str]:
        """A shard folder to spool the next large request body into: (absolute path, shard name)."""
        return self._shard_names[next(self._counter) & 0xFF]

    def adopt(self, spooled: str | os.PathLike[str]) -> str:
        """Move a spooled request body into the blob folder; return its relative path."""
        relative, absolute = self._new()
        os.replace(spooled, absolute)
        return relative

    def write(self, data: bytes) -> str:
        """Store bytes as a new blob; return its relative path."""
        relative, absolute = self._new()
        with open(absolute, "wb") as handle:
            handle.write(data)
        return relative

    def path(self, relative: str) -> Path:
        """Absolute path of a blob."""
        return self.data_dir / relative

    def read(self, relative: str, limit: int = -1) -> bytes:
        """The blob's bytes (at most `limit` if given)."""
        with open(self._prefix + relative, "rb") as handle:
            return handle.read(limit)

    def delete(self, relatives: Iterable[str | None]) -> None:
        """Remove blobs; None entries (inline contents) and missing files are ignored."""
        for relative in relatives:
            if relative:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._prefix + relative)

    def delete_unreferenced(self, referenced: set[str]) -> int:
        """Remove blob files no record points to (left by a crash mid-request); return how many."""
        removed = 0
        for shard in self._shards:
            for blob in shard.iterdir():
                if f"blobs/{shard.name}/{blob.name}" not in referenced:
                    with contextlib.suppress(OSError):
                        blob.unlink()
                        removed += 1
        return removed

    def delete_all(self) -> None:
        """Remove every blob file."""
        for shard in self.root.iterdir():
            for blob in shard.iterdir():
                with contextlib.suppress(OSError):
                    blob.unlink()
