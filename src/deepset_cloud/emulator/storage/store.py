"""Persistent state of the emulator: one SQLite database (WAL) plus a folder of blobs.

All access happens on the event loop thread through one connection, so every statement sees every earlier
write and a file's `created_at` can be allocated and inserted in one step (listing order == insertion
order). Writes on the S3 hot path are group-committed: the transaction stays open and is committed on the
loop's next turn, and the post is answered only after that commit (`committed()`); other writes commit at
once.
`synchronous=NORMAL` in WAL mode means a commit does not fsync, a checkpoint does.

A content (of a file or an S3 object) is either inline (`data`, small) or a blob file (`blob`, a path
relative to the data dir); exactly one of the two is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import attrs

from deepset_cloud.emulator.storage.blobs import BlobFolder
from deepset_cloud.emulator.timestamps import now_us

__all__ = ["META_SUFFIX", "FileRow", "SessionFullError", "SessionRecord", "Store"]

META_SUFFIX = ".meta.json"
"""An object named `X.meta.json` is the metadata sidecar of the object named `X`."""

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
_COMMIT_DELAY_S = 0.005
_SESSION_COLS = (
    "session_id, workspace, write_mode, parallel, user_id, created_us, expires_us, closed_us, ingest, "
    "finished, failed"
)
_CONTENT_SEARCH_LIMIT = 64 * 2**20


class SessionFullError(Exception):
    """A session already holds the maximum number of objects."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an upload session accepts at most {limit} objects")
        self.limit = limit


@attrs.define(kw_only=True)
class SessionRecord:
    """One upload session (cached in memory, mirrored in SQLite). `ingest`: NONE, PENDING or DONE."""

    session_id: str
    workspace: str
    write_mode: str
    parallel: bool
    user_id: str
    created_us: int
    expires_us: int
    closed_us: int | None
    ingest: str
    finished: int
    failed: int

    def status(self, now: int) -> str:
        """`OPEN`, `CLOSED` or `EXPIRED` (an open session past its expiry)."""
        if self.closed_us is not None:
            return "CLOSED"
        return "EXPIRED" if now >= self.expires_us else "OPEN"


@attrs.frozen
class FileRow:
    """A stored file: its name, size, meta JSON text and content (inline `data` or a `blob` path)."""

    name: str
    size: int
    meta_json: str
    blob: str | None
    data: bytes | None


class Store:
    """SQLite records and blob files under `data_dir`; use only from the event loop thread."""

    def __init__(self, data_dir: Path) -> None:
        self.blobs = BlobFolder(data_dir)
        self.db = sqlite3.connect(data_dir / "emulator.sqlite3", isolation_level=None)
        self._commit_handle: asyncio.TimerHandle | None = None
        self._commit_soon = False
        self._commit_waiters: list[asyncio.Future[None]] = []
        self.sessions: dict[str, SessionRecord] = {}
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(_SCHEMA)
            self.db.create_function("content_contains", 3, self._content_contains)
            self.workspaces: set[str] = {r[0] for r in self.db.execute("SELECT name FROM workspaces")}
            for row in self.db.execute(f"SELECT {_SESSION_COLS} FROM sessions"):  # noqa: S608 (constant)
                self._cache_session(row)
            self.object_counts: dict[str, int] = dict(
                self.db.execute("SELECT session_id, COUNT(*) FROM objects GROUP BY session_id").fetchall()
            )
            (last,) = self.db.execute("SELECT MAX(created_us) FROM files").fetchone()
            # A crash can leave blobs behind whose records never committed (a large post cut off
            # mid-body, or the last few milliseconds of group-committed posts): nothing refers to them.
            referenced = {
                row[0]
                for row in self.db.execute(
                    "SELECT blob FROM files WHERE blob IS NOT NULL UNION SELECT blob FROM objects WHERE blob IS NOT NULL"
                )
            }
            self.blobs.delete_unreferenced(referenced)
        except BaseException:  # e.g. a damaged database file: do not leak the connection
            self.db.close()
            raise
        self._last_us: int = last or 0

    # -- transactions -----------------------------------------------------------------------------
    def _begin(self) -> None:
        if not self.db.in_transaction:
            self.db.execute("BEGIN")

    def commit_later(self) -> None:
        """Group commit: keep the open transaction and commit it a few milliseconds from now."""
        if self._commit_handle is None:
            self._commit_handle = asyncio.get_running_loop().call_later(_COMMIT_DELAY_S, self.flush)

    async def committed(self) -> None:
        """Wait until every write made so far is committed, so an acknowledgement survives a crash.

        The commit runs on the loop's next turn, so the writes of all requests handled in one turn share
        one commit (a WAL commit with `synchronous=NORMAL` writes the log but does not fsync: it survives
        a killed process, not a power cut).

        Raises:
            sqlite3.Error: The commit failed; the writes are not acknowledged.
        """
        if not self.db.in_transaction:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._commit_waiters.append(waiter)
        if not self._commit_soon:
            self._commit_soon = True
            loop.call_soon(self.flush)
        await waiter

    def flush(self) -> None:
        """Commit whatever is pending now and wake everyone waiting in `committed()`."""
        self._commit_soon = False
        if self._commit_handle is not None:
            self._commit_handle.cancel()
            self._commit_handle = None
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

    def _content_contains(self, blob: str | None, data: bytes | None, needle: str) -> bool:
        """SQL function `content_contains(blob, data, needle)`: substring search in a file's text."""
        try:
            raw = data if data is not None else self.blobs.read(blob or "", _CONTENT_SEARCH_LIMIT)
        except OSError:
            return False
        return needle in raw.decode("utf-8", errors="replace")

    # -- workspaces --------------------------------------------------------------------------------
    def create_workspace(self, name: str) -> bool:
        """Create a workspace; False if it exists."""
        if name in self.workspaces:
            return False
        with self.transaction() as db:
            db.execute("INSERT INTO workspaces VALUES (?, ?)", (name, now_us()))
        self.workspaces.add(name)
        return True

    def delete_workspace(self, name: str) -> bool:
        """Delete a workspace with all its files, sessions and objects; False if it does not exist."""
        if name not in self.workspaces:
            return False
        session_ids = [s.session_id for s in self.sessions.values() if s.workspace == name]
        with self.transaction() as db:
            blobs = [
                r[0] for r in db.execute("DELETE FROM files WHERE workspace = ? RETURNING blob", (name,))
            ]
            for sid in session_ids:
                blobs += [
                    r[0]
                    for r in db.execute("DELETE FROM objects WHERE session_id = ? RETURNING blob", (sid,))
                ]
            db.execute("DELETE FROM sessions WHERE workspace = ?", (name,))
            db.execute("DELETE FROM workspaces WHERE name = ?", (name,))
        for sid in session_ids:
            self.sessions.pop(sid, None)
            self.object_counts.pop(sid, None)
        self.workspaces.discard(name)
        self.blobs.delete(blobs)
        return True

    # -- files -------------------------------------------------------------------------------------
    def next_created_us(self) -> int:
        """A creation time strictly greater than every earlier one, so the listing order is total."""
        self._last_us = max(now_us(), self._last_us + 1)
        return self._last_us

    def insert_file(
        self, workspace: str, name: str, size: int, meta_json: str, blob: str | None, data: bytes | None
    ) -> str:
        """Insert a file row (inside the caller's transaction); return its id."""
        file_id = str(uuid.uuid4())
        self._begin()
        self.db.execute(
            "INSERT INTO files VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (file_id, workspace, name, size, self.next_created_us(), meta_json, blob, data),
        )
        return file_id

    def file_from_object(self, seq: int, workspace: str, meta_json: str) -> str:
        """Insert a file made of a session object's name, size and content (in the caller's transaction)."""
        file_id = str(uuid.uuid4())
        self._begin()
        self.db.execute(
            "INSERT INTO files SELECT ?, ?, name, size, ?, ?, blob, data FROM objects WHERE seq = ?",
            (file_id, workspace, self.next_created_us(), meta_json, seq),
        )
        return file_id

    def name_exists(self, workspace: str, name: str) -> bool:
        """Whether a file with exactly this name exists in the workspace."""
        row = self.db.execute(
            "SELECT 1 FROM files WHERE workspace = ? AND name = ? LIMIT 1", (workspace, name)
        ).fetchone()
        return row is not None

    def delete_files_named(self, workspace: str, name: str) -> list[str | None]:
        """Delete every file with this name (inside the caller's transaction); return their blobs."""
        self._begin()
        cursor = self.db.execute(
            "DELETE FROM files WHERE workspace = ? AND name = ? RETURNING blob", (workspace, name)
        )
        return [row[0] for row in cursor]

    def get_file(self, workspace: str, file_id: str, *, with_data: bool = True) -> FileRow | None:
        """A file, or None; `with_data=False` skips reading inline content."""
        data_column = "data" if with_data else "NULL"
        row = self.db.execute(
            f"SELECT name, size, meta, blob, {data_column} FROM files WHERE workspace = ? AND file_id = ?",  # noqa: S608
            (workspace, file_id),
        ).fetchone()
        return None if row is None else FileRow(*row)

    def delete_file(self, workspace: str, file_id: str) -> bool:
        """Delete one file and its blob; False if it does not exist."""
        with self.transaction() as db:
            row = db.execute(
                "DELETE FROM files WHERE workspace = ? AND file_id = ? RETURNING blob", (workspace, file_id)
            ).fetchone()
        if row is None:
            return False
        self.blobs.delete([row[0]])
        return True

    def update_meta(self, workspace: str, changes: dict[str, dict[str, object]]) -> list[str]:
        """Merge each `{key: value}` into its file's meta (a value None removes the key), in one
        transaction; return the ids of files that do not exist in the workspace (left unchanged)."""
        missing: list[str] = []
        with self.transaction() as db:
            for file_id, patch in changes.items():
                row = db.execute(
                    "SELECT meta FROM files WHERE workspace = ? AND file_id = ?", (workspace, file_id)
                ).fetchone()
                if row is None:
                    missing.append(file_id)
                    continue
                meta = json.loads(row[0])
                for key, value in patch.items():
                    if value is None:
                        meta.pop(key, None)
                    else:
                        meta[key] = value
                db.execute(
                    "UPDATE files SET meta = ? WHERE file_id = ?",
                    (json.dumps(meta, ensure_ascii=False), file_id),
                )
        return missing

    def count_files(self) -> int:
        """Number of files in all workspaces."""
        return int(self.db.execute("SELECT COUNT(*) FROM files").fetchone()[0])

    # -- sessions ----------------------------------------------------------------------------------
    def _cache_session(self, row: tuple[object, ...]) -> SessionRecord:
        values = dict(zip(_SESSION_COLS.split(", "), row, strict=True))
        values["parallel"] = bool(values["parallel"])
        record = SessionRecord(**values)  # type: ignore[arg-type]
        self.sessions[record.session_id] = record
        return record

    def create_session(self, record: SessionRecord) -> None:
        """Persist a new session."""
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO sessions ({_SESSION_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
                attrs.astuple(record),
            )
        self.sessions[record.session_id] = record
        self.object_counts[record.session_id] = 0

    def update_session(self, record: SessionRecord) -> None:
        """Write a changed session record back (inside the caller's transaction, or committed now)."""
        own = not self.db.in_transaction
        self._begin()
        self.db.execute(
            "UPDATE sessions SET closed_us = ?, ingest = ?, finished = ?, failed = ? WHERE session_id = ?",
            (record.closed_us, record.ingest, record.finished, record.failed, record.session_id),
        )
        if own:
            self.flush()

    # -- session objects (the S3 side) -------------------------------------------------------------
    def put_object(
        self,
        session_id: str,
        name: str,
        size: int,
        *,
        blob: str | None,
        data: bytes | None,
        is_meta: bool,
        max_objects: int,
    ) -> str | None:
        """Store or replace an object of a session (group-committed); return a replaced blob path.

        Raises:
            SessionFullError: The session holds `max_objects` objects and this name is new.
        """
        self._begin()
        count = self.object_counts.get(session_id, 0)
        if count < max_objects:  # common case: one statement, no lookup
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO objects (session_id, name, size, blob, data, is_meta, status, "
                "ingestion_id) VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?)",
                (session_id, name, size, blob, data, is_meta, str(uuid.uuid4())),
            ).rowcount
            if inserted:
                self.object_counts[session_id] = count + 1
                self.commit_later()
                return None
        old = self.db.execute(
            "SELECT seq, blob FROM objects WHERE session_id = ? AND name = ?", (session_id, name)
        ).fetchone()
        if old is None:
            raise SessionFullError(max_objects)
        self.db.execute(
            "UPDATE objects SET size = ?, blob = ?, data = ? WHERE seq = ?", (size, blob, data, old[0])
        )
        self.commit_later()
        return old[1]  # type: ignore[no-any-return]

    def sweep_expired_objects(self, now: int) -> int:
        """Drop the contents of expired, never-closed sessions (never ingested); return how many."""
        swept = 0
        blobs: list[str | None] = []
        with self.transaction() as db:
            for record in self.sessions.values():
                if record.status(now) == "EXPIRED" and self.object_counts.get(record.session_id):
                    where = "WHERE session_id = ? AND (blob IS NOT NULL OR data IS NOT NULL)"
                    args = (record.session_id,)
                    found = db.execute(f"SELECT blob FROM objects {where}", args).fetchall()  # noqa: S608
                    db.execute(f"UPDATE objects SET blob = NULL, data = NULL {where}", args)  # noqa: S608
                    swept += len(found)
                    blobs += [row[0] for row in found]
        self.blobs.delete(blobs)
        return swept

    def count_objects(self) -> int:
        """Number of stored S3 objects over all sessions."""
        return sum(self.object_counts.values())

    def reset(self) -> None:
        """Delete every record and blob."""
        with self.transaction() as db:
            for table in ("files", "objects", "sessions", "workspaces"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (constant table names)
        self.sessions.clear()
        self.object_counts.clear()
        self.workspaces.clear()
        self.blobs.delete_all()
