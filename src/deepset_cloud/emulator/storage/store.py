"""Persistent state of the emulator: one SQLite database (WAL) plus a folder of blobs.

The only place that runs SQL (with `database`, `session_tables` and `listing`): handlers and the ingestor call
methods. A file's `created_at` is allocated and inserted in one step on the loop thread, so listing order
is insertion order. A content (of a file or an S3 object) is either inline (`data`, small) or a blob
file (`blob`, a path relative to the data dir); exactly one of the two is set.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from deepset_cloud.emulator.clock import Clock, SystemClock
from deepset_cloud.emulator.storage.blobs import BlobFolder
from deepset_cloud.emulator.storage.listing import FileListings, FileQuery, ListedFile
from deepset_cloud.emulator.storage.records import FileRow
from deepset_cloud.emulator.storage.session_tables import SessionTables

__all__ = ["FileQuery", "Store"]

_CONTENT_SEARCH_LIMIT = 64 * 2**20


class Store(SessionTables):
    """SQLite records and blob files under `data_dir`; use only from the event loop thread."""

    def __init__(self, data_dir: Path, clock: Clock | None = None) -> None:
        super().__init__(data_dir / "emulator.sqlite3")
        self.clock: Clock = clock or SystemClock()
        try:
            self.blobs = BlobFolder(data_dir)
            self.db.create_function("content_contains", 3, self._content_contains)
            self.listings = FileListings(self.db)
            self.workspaces: set[str] = {r[0] for r in self.db.execute("SELECT name FROM workspaces")}
            self._load_sessions()
            (last,) = self.db.execute("SELECT MAX(created_us) FROM files").fetchone()
            # A crash can leave blobs behind whose records never committed (a large post cut off
            # mid-body, or a post killed before its commit): nothing refers to them.
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
            db.execute("INSERT INTO workspaces VALUES (?, ?)", (name, self.clock.now_us()))
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
        self._last_us = max(self.clock.now_us(), self._last_us + 1)
        return self._last_us

    def list_files(self, query: FileQuery) -> tuple[int, list[ListedFile], bool]:
        """(total matching, one page in (created_at, file_id) order, has_more).

        Raises:
            ODataFilterError: `query.odata` is not a valid filter (the message says where).
        """
        return self.listings.list_files(query)

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

    def reset(self) -> None:
        """Delete every record and blob."""
        with self.transaction() as db:
            for table in ("files", "objects", "sessions", "workspaces"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 (constant table names)
        self.sessions.clear()
        self.object_counts.clear()
        self.workspaces.clear()
        self.blobs.delete_all()
