"""The queries of `GET files`: one keyset page on the (workspace, created_us, file_id) index, and `total`.

A page seeks the index strictly after the cursor with a row-value comparison, which SQLite turns into an
index range; the equivalent `created_us > ? OR (...)` form scans the workspace from its first file on every
page, so the cost of a page grew with its position. Counting the matches costs as much as scanning them,
so each total is cached per filter until the next write: `sqlite3.Connection.total_changes` grows with
every row any statement of the (only) connection inserts, updates or deletes, so a cached total is never
older than the data. Searches through the lagging search index change with the clock, not only with
writes, and are never cached.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import attrs

from deepset_cloud.emulator.odata.compile import compile_filter

__all__ = ["FileListings", "FileQuery", "ListedFile"]

ListedFile = tuple[str, str, int, int, str]
"""(file_id, name, size, created_us, meta JSON text) of one file of a listing page."""

_MAX_CACHED_TOTALS = 256


@attrs.frozen(kw_only=True)
class FileQuery:
    """What `GET files` asks for; empty strings mean "no condition".

    `indexed_before_us` hides newer files from `content`/`odata` searches (the search index lag);
    `after` is the listing cursor `(created_us, file_id or "")`.
    """

    workspace: str
    limit: int
    name: str = ""
    content: str = ""
    odata: str = ""
    indexed_before_us: int | None = None
    after: tuple[int, str] | None = None


class FileListings:
    """Runs listing queries on one connection and remembers the totals it counted."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._totals: dict[tuple[str, tuple[Any, ...]], int] = {}
        self._totals_version = -1

    def list_files(self, query: FileQuery) -> tuple[int, list[ListedFile], bool]:
        """(total matching, one page in (created_at, file_id) order, has_more).

        Raises:
            ODataFilterError: `query.odata` is not a valid filter (the message says where).
        """
        where = ["workspace = ?"]
        params: list[Any] = [query.workspace]
        if query.name:
            where.append("instr(name, ?) > 0")
            params.append(query.name)
        if query.content:
            where.append("content_contains(blob, data, ?)")
            params.append(query.content)
        if query.odata.strip():
            fragment, odata_params = compile_filter(query.odata)
            where.append(f"({fragment})")
            params.extend(odata_params)
        lagging = query.indexed_before_us is not None and bool(query.content or query.odata.strip())
        if lagging:
            where.append("created_us <= ?")
            params.append(query.indexed_before_us)
        clause = " AND ".join(where)
        total = self._total(clause, params, cache=not lagging)
        if query.after is not None:
            after_us, after_file_id = query.after
            if after_file_id:  # strictly after (created_at, file_id) in listing order
                clause += " AND (created_us, file_id) > (?, ?)"
                params += [after_us, after_file_id]
            else:  # a bare time cursor: strictly later files
                clause += " AND created_us > ?"
                params.append(after_us)
        # The WHERE clause is built from constant fragments; every value travels as a parameter.
        rows = self._db.execute(
            f"SELECT file_id, name, size, created_us, meta FROM files WHERE {clause} "  # noqa: S608
            "ORDER BY created_us, file_id LIMIT ?",
            [*params, query.limit + 1],
        ).fetchall()
        has_more = len(rows) > query.limit
        return total, rows[: query.limit] if has_more else rows, has_more

    def _total(self, clause: str, params: list[Any], *, cache: bool) -> int:
        key = (clause, tuple(params))
        if cache:
            version = self._db.total_changes
            if version != self._totals_version or len(self._totals) >= _MAX_CACHED_TOTALS:
                self._totals.clear()
                self._totals_version = version
            cached = self._totals.get(key)
            if cached is not None:
                return cached
        (total,) = self._db.execute(f"SELECT COUNT(*) FROM files WHERE {clause}", params).fetchone()  # noqa: S608
        if cache:
            self._totals[key] = int(total)
        return int(total)
