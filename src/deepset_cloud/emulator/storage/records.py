"""What the store hands out: session records, file rows and listings (plain data, no SQL)."""

from __future__ import annotations

import attrs

__all__ = ["META_SUFFIX", "FileRow", "ObjectStatus", "SessionFullError", "SessionRecord"]

META_SUFFIX = ".meta.json"
"""An object named `X.meta.json` is the metadata sidecar of the object named `X`."""


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


@attrs.frozen
class ObjectStatus:
    """The ingestion state of one object of a session (E11)."""

    ingestion_id: str
    status: str
    reason: str | None
    name: str
