"""Content hashes of local files, with a per-user cache keyed by (path, size, mtime) to skip re-reading.

The cache is an optimisation only: the truth is the hash stored in the workspace. It is a SQLite file in
the platform's cache folder (`DEEPSET_CLOUD_CACHE_DIR` overrides it), in WAL mode with a busy timeout, so
concurrent syncs share it safely. A file modified within `_RACY_WINDOW_NS` of hashing is not cached
(git's "racily clean" rule: a later change in the same mtime tick would go unnoticed). A cache that
cannot be opened or written is skipped with a warning, never an error.
"""

from __future__ import annotations

import hashlib
import logging
import os
import sqlite3
import sys
import time
from pathlib import Path

from deepset_cloud._upload.sources import StorageOptions, open_binary

__all__ = ["CACHE_DIR_ENV", "HashCache", "default_cache_dir", "sha256_of"]

CACHE_DIR_ENV = "DEEPSET_CLOUD_CACHE_DIR"
_CHUNK = 1024 * 1024
_RACY_WINDOW_NS = 2_000_000_000
_FLUSH_EVERY = 2_000
logger = logging.getLogger("deepset_cloud.sync")


def default_cache_dir() -> Path:
    """Return the folder of the hash cache, read from the environment at each call."""
    override = os.environ.get(CACHE_DIR_ENV, "").strip()
    if override:
        return Path(override)
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or str(Path.home() / "AppData" / "Local")
        return Path(base) / "deepset-cloud" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "deepset-cloud"
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg) if xdg else Path.home() / ".cache") / "deepset-cloud"


def sha256_of(path: str, storage_options: StorageOptions | None = None) -> str:
    """Return the hex SHA-256 of the file's (or object's) content, read in chunks (memory does not grow).

    Raises:
        OSError: the file cannot be read.
    """
    digest = hashlib.sha256()
    with open_binary(path, storage_options) as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class HashCache:
    """(absolute path, size, mtime_ns) -> SHA-256, persisted across runs.

    Args:
        directory: where the cache file lives; None disables the cache (every file is read).
        storage_options: options of the fsspec filesystems of objects given by URL.
    """

    def __init__(self, directory: Path | None, storage_options: StorageOptions | None = None) -> None:
        self._storage_options = storage_options
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[str, int, int, str]] = []
        self.file: Path | None = None
        """The cache's SQLite file while the cache works (the plan joins it to avoid a query per file)."""
        if directory is not None:
            self.file = directory / "sync-hashes.sqlite3"
            self._db = _open(self.file)
            if self._db is None:
                self.file = None

    def hash_of(self, path: str, size: int, mtime_ns: int) -> str:
        """Return the file's hash, from the cache when its size and mtime are unchanged.

        Raises:
            OSError: the file must be read and cannot be.
        """
        cached = self._lookup(path, size, mtime_ns)
        return cached if cached is not None else self.compute(path, size, mtime_ns)

    def compute(self, path: str, size: int, mtime_ns: int) -> str:
        """Read and hash the file, and remember the hash (unless it was modified just now).

        Raises:
            OSError: the file cannot be read.
        """
        value = sha256_of(path, self._storage_options)
        if time.time_ns() - mtime_ns > _RACY_WINDOW_NS and self._db is not None:
            self._pending.append((path, size, mtime_ns, value))
            if len(self._pending) >= _FLUSH_EVERY:
                self.flush()
        return value

    def _lookup(self, path: str, size: int, mtime_ns: int) -> str | None:
        if self._db is None:
            return None
        try:
            row = self._db.execute(
                "SELECT sha256 FROM hashes WHERE path = ? AND size = ? AND mtime_ns = ?",
                (path, size, mtime_ns),
            ).fetchone()
        except sqlite3.Error as exc:
            self._disable(exc)
            return None
        return None if row is None else str(row[0])

    def flush(self) -> None:
        """Write the hashes computed since the last flush (one short transaction)."""
        if self._db is None or not self._pending:
            return
        pending, self._pending = self._pending, []
        try:
            self._db.execute("BEGIN IMMEDIATE")  # one transaction, not one commit per row
            try:
                self._db.executemany("INSERT OR REPLACE INTO hashes VALUES (?, ?, ?, ?)", pending)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            self._disable(exc)

    def close(self) -> None:
        """Flush and close (idempotent)."""
        self.flush()
        if self._db is not None:
            self._db.close()
            self._db = None

    def _disable(self, exc: sqlite3.Error) -> None:
        logger.warning("hash cache disabled for this run (%s): files are read again", exc)
        if self._db is not None:
            self._db.close()
        self._db = None
        self.file = None
        self._pending = []


def _open(path: Path) -> sqlite3.Connection | None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute(
            "CREATE TABLE IF NOT EXISTS hashes (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
            "mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL)"
        )
    except (OSError, sqlite3.Error) as exc:
        logger.warning("hash cache %s unavailable (%s): files are read again", path, exc)
        return None
    return db
