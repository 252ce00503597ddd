"""The emulator's SQLite database (WAL): schema, connection and transactions, including group commit.

All access happens on the event loop thread through one connection, so every statement sees every earlier
write. Writes on the S3 hot path are group-committed: the transaction stays open until the loop's next
turn, and the post is answered only after that commit (`committed()`); other writes commit at once.
`synchronous=NORMAL` in WAL mode means a commit does not fsync (a checkpoint does): a commit survives a
killed process, not a power cut.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Database"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS workspaces (name TEXT PRIMARY KEY, created_us INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS files (
    file_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
    created_us INTEGER NOT NULL, meta TEXT NOT NULL, blob TEXT, data BLOB);
CREATE INDEX IF NOT EXISTS files_order ON files (workspace, created_us, file_id);
CREATE INDEX IF NOT EXISTS files_name ON files (workspace, name);
CREATE TABLE IF NOT EXISTS sessions (
    session_id TEXT PRIMARY KEY, workspace TEXT NOT NULL, write_mode TEXT NOT NULL,
    parallel INTEGER NOT NULL, user_id TEXT NOT NULL, created_us INTEGER NOT NULL,
    expires_us INTEGER NOT NULL, closed_us INTEGER, ingest TEXT NOT NULL,
    finished INTEGER NOT NULL, failed INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, session_id TEXT NOT NULL, name TEXT NOT NULL,
    size INTEGER NOT NULL, blob TEXT, data BLOB, is_meta INTEGER NOT NULL, status TEXT NOT NULL,
    reason TEXT, ingestion_id TEXT NOT NULL, UNIQUE (session_id, name));
"""


class Database:
    """One SQLite connection in WAL mode with the emulator's schema; use only from the event loop thread."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self._commit_soon = False
        self._commit_waiters: list[asyncio.Future[None]] = []
        try:
            # Only this connection ever uses the file: an exclusive lock taken before WAL mode keeps the WAL
            # index in process memory and saves the lock calls every transaction would make. It is taken at
            # once and held until `close`, so a second emulator on the same data dir fails to start
            # ("database is locked") instead of sharing records behind this one's caches.
            self.db.execute("PRAGMA locking_mode=EXCLUSIVE")
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("BEGIN EXCLUSIVE")
            self.db.execute("COMMIT")
            self.db.executescript(_SCHEMA)
        except BaseException:  # e.g. a damaged database file: do not leak the connection
            self.db.close()
            raise

    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    async def committed(self) -> None:
        """Wait until every write made so far is committed, so an acknowledgement survives a crash.

        The commit runs on the loop's next turn, so the writes of all requests handled in one turn share
        one commit.

        Raises:
            sqlite3.Error: The commit failed; the writes are not acknowledged.
        """
        waiter = self.commit_waiter()
        if waiter is not None:
            await waiter

    def commit_waiter(self) -> asyncio.Future[None] | None:
        """`committed()` as a future (None: nothing to wait for), for callers that are not coroutines."""
        if not self.db.in_transaction:
            return None
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._commit_waiters.append(waiter)
        if not self._commit_soon:
            self._commit_soon = True
            loop.call_soon(self.flush)
        return waiter

    def flush(self) -> None:
        """Commit whatever is pending now and wake everyone waiting in `committed()`."""
        self._commit_soon = False
        waiters, self._commit_waiters = self._commit_waiters, []
        try:
            if self.db.in_transaction:
                self.db.execute("COMMIT")
        except BaseException as exc:
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            raise
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements and commit them together (with any group-committed writes before them)."""
        self._begin()
        try:
            yield self.db
        finally:
            self.flush()  # on error too: earlier acknowledged writes must not be lost

    def close(self) -> None:
        """Commit and close the database."""
        self.flush()
        self.db.close()
