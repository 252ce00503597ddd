"""Upload sessions and their objects (the S3 side) in SQLite, and the steps ingestion takes on them.

`Store` builds on this class; handlers and the ingestor call these methods and never run SQL themselves.
"""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import attrs

from deepset_cloud.emulator.storage.blobs import BlobFolder
from deepset_cloud.emulator.storage.database import Database
from deepset_cloud.emulator.storage.records import ObjectStatus, SessionFullError, SessionRecord

__all__ = ["SESSION_COLUMNS", "ObjectRow", "SessionTables"]

SESSION_COLUMNS = (
    "session_id, workspace, write_mode, parallel, user_id, created_us, expires_us, closed_us, ingest, "
    "finished, failed"
)
ObjectRow = tuple[int, str, int, bool, str]
"""(seq, name, size, is_meta, status) of one session object, in posting order."""


class _IngestionIds:
    """Unique UUID-shaped ids, cheaper than `uuid4()` per object: a random prefix per run, then a counter."""

    def __init__(self) -> None:
        self._prefix = str(uuid.uuid4())[:24]  # "xxxxxxxx-xxxx-4xxx-yxxx-": a valid version-4 shape
        self._counter = itertools.count()

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter) & 0xFFFFFFFFFFFF:012x}"


class SessionTables(Database):
    """Sessions (cached in `sessions`, mirrored in SQLite) and session objects (counted per session)."""

    blobs: BlobFolder
    sessions: dict[str, SessionRecord]
    object_counts: dict[str, int]
    _ingestion_ids: _IngestionIds

    def _load_sessions(self) -> None:
        self._ingestion_ids = _IngestionIds()
        self.sessions = {}
        for row in self.db.execute(f"SELECT {SESSION_COLUMNS} FROM sessions"):  # noqa: S608 (constant)
            values = dict(zip(SESSION_COLUMNS.split(", "), row, strict=True))
            values["parallel"] = bool(values["parallel"])
            record = SessionRecord(**values)
            self.sessions[record.session_id] = record
        self.object_counts = dict(
            self.db.execute("SELECT session_id, COUNT(*) FROM objects GROUP BY session_id").fetchall()
        )

    # -- sessions ----------------------------------------------------------------------------------
    def create_session(self, record: SessionRecord) -> None:
        """Persist a new session."""
        with self.transaction() as db:
            db.execute(
                f"INSERT INTO sessions ({SESSION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
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

    def object_statuses(
        self, session_id: str, *, status: str | None, limit: int, offset: int
    ) -> tuple[int, list[ObjectStatus]]:
        """E11: (total, page) of the session's raw files and failed sidecars, in posting order."""
        where = "session_id = ? AND (is_meta = 0 OR status = 'FAILED')"
        params: list[Any] = [session_id]
        if status is not None:
            where += " AND status = ?"
            params.append(status)
        (total,) = self.db.execute(f"SELECT COUNT(*) FROM objects WHERE {where}", params).fetchone()  # noqa: S608
        rows = self.db.execute(
            f"SELECT ingestion_id, status, reason, name FROM objects WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",  # noqa: S608
            [*params, limit, offset],
        ).fetchall()
        return int(total), [ObjectStatus(*row) for row in rows]

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
        """Store or replace an object of a session; return a replaced blob path.

        The write stays in the open transaction: await `committed()` before acknowledging it.

        Raises:
            SessionFullError: The session holds `max_objects` objects and this name is new.
        """
        self._begin()
        count = self.object_counts.get(session_id, 0)
        if count < max_objects:  # common case: one statement, no lookup
            inserted = self.db.execute(
                "INSERT OR IGNORE INTO objects (session_id, name, size, blob, data, is_meta, status, "
                "ingestion_id) VALUES (?, ?, ?, ?, ?, ?, 'PENDING', ?)",
                (session_id, name, size, blob, data, is_meta, self._ingestion_ids.next()),
            ).rowcount
            if inserted:
                self.object_counts[session_id] = count + 1
                return None
        old = self.db.execute(
            "SELECT seq, blob FROM objects WHERE session_id = ? AND name = ?", (session_id, name)
        ).fetchone()
        if old is None:
            raise SessionFullError(max_objects)
        self.db.execute(
            "UPDATE objects SET size = ?, blob = ?, data = ? WHERE seq = ?", (size, blob, data, old[0])
        )
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

    # -- ingestion steps ---------------------------------------------------------------------------
    def session_objects(self, session_id: str) -> list[ObjectRow]:
        """Every object of a session (without content), in posting order."""
        rows = self.db.execute(
            "SELECT seq, name, size, is_meta, status FROM objects WHERE session_id = ? ORDER BY seq",
            (session_id,),
        ).fetchall()
        return [(seq, name, size, bool(is_meta), status) for seq, name, size, is_meta, status in rows]

    def object_blob(self, seq: int) -> tuple[str | None, bool]:
        """(blob path, has inline data) of an object."""
        blob, has_data = self.db.execute(
            "SELECT blob, data IS NOT NULL FROM objects WHERE seq = ?", (seq,)
        ).fetchone()
        return blob, bool(has_data)

    def read_object(self, seq: int) -> bytes | None:
        """An object's content (inline or from its blob file), or None if it has none.

        Raises:
            OSError: The blob file cannot be read.
        """
        blob, data = self.db.execute("SELECT blob, data FROM objects WHERE seq = ?", (seq,)).fetchone()
        if data is not None:
            return bytes(data)
        return self.blobs.read(blob) if blob else None

    def settle_object(
        self, seq: int, status: str, reason: str | None, *, only_pending: bool = False
    ) -> str | None:
        """Record an object's ingestion outcome and drop its content reference (in the caller's
        transaction); return the blob it referred to (the caller deletes it unless a file adopted it)."""
        self._begin()
        (blob,) = self.db.execute("SELECT blob FROM objects WHERE seq = ?", (seq,)).fetchone()
        pending = " AND status = 'PENDING'" if only_pending else ""
        self.db.execute(
            f"UPDATE objects SET status = ?, reason = ?, blob = NULL, data = NULL WHERE seq = ?{pending}",  # noqa: S608
            (status, reason, seq),
        )
        return blob  # type: ignore[no-any-return]
