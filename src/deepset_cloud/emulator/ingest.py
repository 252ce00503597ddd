"""Background ingestion of closed upload sessions: S3 objects become workspace files.

Pairing: `X.meta.json` belongs to the object named exactly `X` (case-sensitive). Each raw object ends
FINISHED or FAILED with a reason: FAILED_TO_PARSE_META (sidecar is not a JSON object), EMPTY_FILE,
FILE_NOT_FOUND (blob missing; also a sidecar without its file, which is listed in E11 but not counted in
E8), FILE_ALREADY_EXISTS (write mode FAIL), UNKNOWN_ERROR. Work is committed in chunks together with the
session's counters, so an interrupted ingestion resumes after a restart without doing anything twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

from deepset_cloud.emulator.storage.records import META_SUFFIX, SessionRecord
from deepset_cloud.emulator.storage.store import Store

__all__ = ["Ingestor"]

_CHUNK = 500
_log = logging.getLogger(__name__)


class Ingestor:
    """Schedules and runs the ingestion of closed sessions on the event loop (state lives in `store`)."""

    def __init__(self, store: Store) -> None:
        self._store = store
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def schedule(self, session_id: str, delay_s: float) -> None:
        """Ingest the session after `delay_s` seconds."""
        loop = asyncio.get_running_loop()
        self._timers[session_id] = loop.call_later(delay_s, self._start, session_id)

    def resume(self, delay_s: float) -> None:
        """Schedule every session that was closed but not (completely) ingested, e.g. before a restart."""
        for record in self._store.sessions.values():
            if record.ingest == "PENDING":
                self.schedule(record.session_id, delay_s)

    def _start(self, session_id: str) -> None:
        self._timers.pop(session_id, None)
        task = asyncio.get_running_loop().create_task(self._run(session_id))
        self._tasks[session_id] = task
        task.add_done_callback(lambda _t: self._tasks.pop(session_id, None))

    def forget_workspace(self, workspace: str) -> None:
        """Stop pending ingestion of the workspace's sessions (it is being deleted)."""
        for session_id, record in list(self._store.sessions.items()):
            if record.workspace == workspace:
                self._cancel(session_id)

    def cancel_all(self) -> None:
        """Stop every scheduled and running ingestion (state stays PENDING and resumes on restart)."""
        for session_id in list(self._timers) + list(self._tasks):
            self._cancel(session_id)

    def _cancel(self, session_id: str) -> None:
        timer = self._timers.pop(session_id, None)
        if timer is not None:
            timer.cancel()
        task = self._tasks.pop(session_id, None)
        if task is not None:
            task.cancel()

    async def aclose(self) -> None:
        """Cancel everything and wait for running ingestions to stop."""
        tasks = list(self._tasks.values())
        self.cancel_all()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def wait_idle(self) -> None:
        """Wait until nothing is scheduled or running (for tests and reset)."""
        # Timers have no future to await; poll briefly.
        while self._timers or self._tasks:  # noqa: ASYNC110
            await asyncio.sleep(0.005)

    async def _run(self, session_id: str) -> None:
        store = self._store
        store.flush()
        record = store.sessions.get(session_id)
        if record is None or record.ingest != "PENDING":
            return
        # Contents stay in SQLite (or blob files) and are read one object at a time.
        rows = store.session_objects(session_id)
        metas = {name: seq for seq, name, _size, is_meta, _status in rows if is_meta}
        raw_names = {name for _seq, name, _size, is_meta, _status in rows if not is_meta}
        pending = [
            (seq, name, size)
            for seq, name, size, is_meta, status in rows
            if not is_meta and status == "PENDING"
        ]
        for start in range(0, len(pending), _CHUNK):
            doomed: list[str | None] = []
            with store.transaction():
                for seq, name, size in pending[start : start + _CHUNK]:
                    meta_seq = metas.get(name + META_SUFFIX)
                    status, reason = self._ingest_one(record, seq, name, size, meta_seq, doomed)
                    store.settle_object(seq, status, reason)
                    if status == "FINISHED":
                        record.finished += 1
                    else:
                        record.failed += 1
                store.update_session(record)
            store.blobs.delete(doomed)
            await asyncio.sleep(0)  # let requests in between chunks
        meta_blobs: list[str | None] = []
        with store.transaction():
            for name, seq in metas.items():
                paired = name[: -len(META_SUFFIX)] in raw_names
                outcome = ("FINISHED", None) if paired else ("FAILED", "FILE_NOT_FOUND")
                meta_blobs.append(store.settle_object(seq, *outcome, only_pending=True))
            record.ingest = "DONE"
            store.update_session(record)
        store.blobs.delete(meta_blobs)

    def _ingest_one(
        self,
        record: SessionRecord,
        seq: int,
        name: str,
        size: int,
        meta_seq: int | None,
        doomed: list[str | None],
    ) -> tuple[str, str | None]:
        """Turn one raw object into a file; return (status, reason). Blobs to delete go to `doomed`."""
        store = self._store
        try:
            blob, has_data = store.object_blob(seq)
            if not has_data and (blob is None or not store.blobs.path(blob).exists()):
                return "FAILED", "FILE_NOT_FOUND"
            doomed.append(blob)  # unless it becomes the file's blob below
            meta_json = "{}"
            if meta_seq is not None:
                parsed = self._read_meta(meta_seq)
                if not isinstance(parsed, dict):
                    return "FAILED", "FAILED_TO_PARSE_META"
                meta_json = json.dumps(parsed, ensure_ascii=False)
            if size == 0:
                return "FAILED", "EMPTY_FILE"
            if record.write_mode == "FAIL" and store.name_exists(record.workspace, name):
                return "FAILED", "FILE_ALREADY_EXISTS"
            if record.write_mode == "OVERWRITE":
                doomed.extend(store.delete_files_named(record.workspace, name))
            store.file_from_object(seq, record.workspace, meta_json)
            doomed.remove(blob)
        except Exception:  # one broken object must not stop the session's ingestion
            _log.exception("ingestion of %r in session %s failed", name, record.session_id)
            return "FAILED", "UNKNOWN_ERROR"
        return "FINISHED", None

    def _read_meta(self, seq: int) -> object:
        """The parsed sidecar object, or None if it cannot be read or parsed."""
        try:
            raw = self._store.read_object(seq)
            return None if raw is None else json.loads(raw)
        except (ValueError, OSError):
            return None
