"""The session path: a fixed pool of workers posts bundles to S3, each taking the next bundle itself.

A free worker takes the next bundle from the shared supply (`BundleIntake`: no queue in between) and
assigns it to the current session, in supply order; the session rolls over to a new one at the
per-session object limit, before it expires, and (for in-memory uploads) when a name repeats, since the
server pairs and stores objects by name. Sessions are opened by one worker at a time, and a bundle is
never assigned while one is being opened. Memory grows with concurrency and one batch of the supply,
never with the number of files. A retired session is closed as soon as its last bundle is done; on any
error or cancellation every session still open is closed in a shielded scope with a time budget.

Storage posts are retried for as long as their session takes posts and the upload's deadline allows
(`PersistentRetry`); what still failed transiently is posted once more when the session's last bundle is
done, and a file whose answer was lost is looked up in the session's file list before it is reported
failed. One `StorageBreaker` per upload ends it when storage makes no progress for
`settings.storage_stall_limit_s`, whatever the timeouts of single posts.

No task in the group raises: per-file errors go to the tally, and a fatal error (a session that cannot
be created or closed, a dead storage endpoint, a bug) is recorded, cancels the group and is raised
afterwards as itself, never wrapped in an ExceptionGroup.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterable, Iterable, Sequence
from datetime import timezone
from typing import TYPE_CHECKING
from uuid import UUID

import anyio
import attrs

from deepset_cloud._http.storage import PresignedPost
from deepset_cloud._progress import ProgressBar
from deepset_cloud._retry import RetryPolicy
from deepset_cloud._upload.intake import BundleIntake
from deepset_cloud._upload.options import (
    Bundle,
    PipelineStats,
    UploadAPI,
    UploadSettings,
    UploadTally,
    logger,
)
from deepset_cloud._upload.posting import BundlePoster, Failure
from deepset_cloud._upload.resilience import PersistentRetry, StorageBreaker
from deepset_cloud.errors import ConflictError, DeepsetCloudError, NotFoundError, TransportError
from deepset_cloud.models import UploadSession, UploadSessionStatusEnum, WriteMode

if TYPE_CHECKING:
    from anyio.abc import TaskGroup

    from deepset_cloud._http.storage import StorageClient

__all__ = ["SessionSlot", "SessionUploader"]


@attrs.define(eq=False)
class SessionSlot:
    """One upload session and the bookkeeping of the bundles assigned to it."""

    session: UploadSession
    poster: PresignedPost
    objects: int = 0
    outstanding: int = 0
    raw_uploaded: int = 0
    retired: bool = False
    closed: bool = False
    drained: anyio.Event = attrs.Factory(anyio.Event)
    names: set[str] | None = None
    requeued: list[Failure] = attrs.Factory(list)
    _expires_at_s: float = attrs.field(init=False)

    def __attrs_post_init__(self) -> None:
        # As a POSIX timestamp once: the rollover check runs for every bundle.
        self._expires_at_s = _posix(self.session)

    def expires_within(self, margin_s: float) -> bool:
        """Whether the session expires within `margin_s` seconds from now."""
        return time.time() + margin_s >= self._expires_at_s

    def release(self) -> None:
        """One assigned bundle is done (posted, failed or withdrawn): a retired slot may now drain."""
        self.outstanding -= 1
        if self.retired and self.outstanding == 0:
            self.drained.set()


def _names(bundle: Bundle) -> tuple[str, ...]:
    """The object names a bundle stores: its file's, and its sidecar's if it has one."""
    return (bundle.file.name,) if bundle.sidecar is None else (bundle.file.name, bundle.sidecar.name)


@attrs.define(eq=False)
class _Turn:
    """A bundle waiting in line while a session is being opened."""

    bundle: Bundle
    served: anyio.Event = attrs.Factory(anyio.Event)
    slot: SessionSlot | None = None
    """Where the bundle was placed; None once served: its worker opens the next session."""


def _posix(session: UploadSession) -> float:
    expires_at = session.expires_at
    if expires_at.tzinfo is None:
        expires_at = expires_at.replace(tzinfo=timezone.utc)
    return expires_at.timestamp()


# Storage posts are retried until the session expires within this margin (it must still be closed).
_RETRY_EXPIRY_MARGIN_S = 60.0
# Creating a session whose answer was lost is tried again this often (a lost answer may leave an empty
# session open; it expires unused and loses nothing).
_CREATE_TRIES = 3
_SESSION_LOOKUP_PAGES = 50


class SessionUploader:
    """Uploads bundles through one or more upload sessions and closes every session it opened.

    Args:
        api: the deepset Cloud endpoints.
        storage: posts objects to the sessions' presigned storage URLs.
        workspace: the workspace to upload to.
        write_mode: the write mode of every session.
        enable_parallel_processing: the sessions' server-side parallel ingestion flag.
        concurrency: the number of workers (and the queue size).
        retry: the waits between retries of storage posts (see `PersistentRetry`).
        settings: rollover limits, timeouts.
        tally: collects per-file results.
        progress: the upload progress bar (counts objects).
        stats: counters for tests and benchmarks.
        unique_names: roll over when a name repeats within a session (in-memory uploads).
    """

    def __init__(
        self,
        api: UploadAPI,
        storage: StorageClient,
        *,
        workspace: str,
        write_mode: WriteMode,
        enable_parallel_processing: bool,
        concurrency: int,
        retry: RetryPolicy,
        settings: UploadSettings,
        tally: UploadTally,
        progress: ProgressBar,
        stats: PipelineStats,
        unique_names: bool,
    ) -> None:
        self._api = api
        self._storage = storage
        self._workspace = workspace
        self._write_mode = write_mode
        self._parallel = enable_parallel_processing
        self._concurrency = concurrency
        self._retry = retry
        self._settings = settings
        self._tally = tally
        self._progress = progress
        self._stats = stats
        self._unique_names = unique_names
        self._slots: list[SessionSlot] = []
        self._current: SessionSlot | None = None
        self._open_limit = anyio.Semaphore(settings.max_open_sessions)
        self._fatal: BaseException | None = None
        self._task_group: TaskGroup | None = None
        self._breaker = StorageBreaker(settings.storage_stall_limit_s)
        self._deadline: float | None = None
        self._poster = BundlePoster(tally, progress)
        self._opening = False  # a worker is opening a session: the others wait in `_line`
        self._line: deque[_Turn] = deque()
        self._idle_workers = 0

    async def run(self, bundles: Iterable[Bundle] | AsyncIterable[Sequence[Bundle]]) -> list[SessionSlot]:
        """Upload every bundle (an async iterable gives them in batches); return the sessions used, closed.

        Raises:
            DeepsetCloudError: a session could not be created or closed (after every open one was closed).
        """
        if self._settings.upload_deadline_s is not None:
            self._deadline = anyio.current_time() + self._settings.upload_deadline_s
        try:
            async with anyio.create_task_group() as guard:
                guard.start_soon(self._breaker.watch, self._fail)
                try:
                    await self._run_workers(bundles)
                finally:
                    guard.cancel_scope.cancel()
        finally:
            self._settle_requeued()
            await self._close_open_sessions()
        if self._fatal is not None:
            raise self._fatal
        return self._slots

    async def _run_workers(self, bundles: Iterable[Bundle] | AsyncIterable[Sequence[Bundle]]) -> None:
        intake = BundleIntake(bundles)
        self._idle_workers = 0
        async with anyio.create_task_group() as task_group:
            self._task_group = task_group
            for _ in range(self._concurrency):
                task_group.start_soon(self._worker, intake)

    @property
    def session_ids(self) -> tuple[UUID, ...]:
        """The sessions opened so far, in order."""
        return tuple(slot.session.session_id for slot in self._slots)

    def _fail(self, exc: BaseException) -> None:
        if self._fatal is None:
            self._fatal = exc
            logger.error("Upload aborted: %s", exc)
        assert self._task_group is not None
        self._task_group.cancel_scope.cancel()

    async def _slot_for(self, bundle: Bundle) -> SessionSlot:
        """The session `bundle` goes to (counted in it), opening one when needed.

        One worker at a time opens a session. Bundles that arrive meanwhile wait in line, and the worker that
        opened it places them right after, in supply order and in one go: with a lock instead, each waiter
        takes a loop turn to hand it on, workers keep arriving during the hand-overs and queue behind them, and
        every bundle goes through the lock for as long as the upload lasts. The first bundle in line that
        does not fit the new session is woken to open the next one.
        """
        if self._opening:
            turn = _Turn(bundle)
            self._line.append(turn)
            try:
                await turn.served.wait()
            except BaseException:
                self._leave_line(turn)
                raise
            if turn.slot is not None:
                return turn.slot
            # Served without a session: this worker opens the next one (`_opening` stays set).
        self._opening = True
        try:
            slot = self._current
            names = _names(bundle)
            if slot is not None and slot.objects > 0 and self._must_roll_over(slot, bundle, names):
                self._retire(slot)
                slot = None
            if slot is None:
                slot = await self._open_session()
                self._current = slot
            self._assign(slot, bundle, names)
        except BaseException:
            self._pass_opening_on()
            raise
        self._serve_line(slot)
        return slot

    def _serve_line(self, slot: SessionSlot) -> None:
        """Place the bundles in line into the new `slot`, in order, up to the first that does not fit."""
        line = self._line
        while line:
            turn = line.popleft()
            bundle = turn.bundle
            names = _names(bundle)
            if self._must_roll_over(slot, bundle, names):
                turn.served.set()  # without a slot: its worker opens the next session
                return
            self._assign(slot, bundle, names)
            turn.slot = slot
            turn.served.set()
        self._opening = False

    def _pass_opening_on(self) -> None:
        """The opening worker gave up (an error, a cancellation): the next in line opens a session."""
        if self._line:
            self._line.popleft().served.set()
        else:
            self._opening = False

    def _leave_line(self, turn: _Turn) -> None:
        """A worker waiting in line was cancelled: its bundle is not posted, and someone else opens."""
        if not turn.served.is_set():
            self._line.remove(turn)
        elif turn.slot is None:
            self._pass_opening_on()
        else:
            turn.slot.objects -= turn.bundle.object_count
            turn.slot.release()

    def _slot_nowait(self, bundle: Bundle) -> SessionSlot | None:
        """The current session if `bundle` fits into it (counted in it), else None: see `_slot_for`."""
        slot = self._current
        if slot is None or self._opening:  # a session is being opened: keep the supply order
            return None
        names = _names(bundle)
        if slot.objects > 0 and self._must_roll_over(slot, bundle, names):
            return None
        self._assign(slot, bundle, names)
        return slot

    @staticmethod
    def _assign(slot: SessionSlot, bundle: Bundle, names: tuple[str, ...]) -> None:
        slot.objects += bundle.object_count
        slot.outstanding += 1
        if slot.names is not None:
            slot.names.update(names)

    def _must_roll_over(self, slot: SessionSlot, bundle: Bundle, names: tuple[str, ...]) -> bool:
        if slot.objects + bundle.object_count > self._settings.max_files_per_session:
            return True
        if slot.names is not None and any(name in slot.names for name in names):
            return True
        return slot.expires_within(self._settings.session_expiry_margin_s)

    async def _open_session(self) -> SessionSlot:
        await self._open_limit.acquire()
        try:
            session = await self._create_session()
        except BaseException:
            self._open_limit.release()
            raise
        config = session.aws_prefixed_request_config
        expires_at_s = _posix(session)
        retry = PersistentRetry(
            self._retry,
            self._breaker,
            session_alive=lambda: time.time() + _RETRY_EXPIRY_MARGIN_S < expires_at_s,
            deadline=self._deadline,
        )
        poster = self._storage.presigned_post(
            url=config.url,
            fields=config.fields,
            retry=retry,
            timeouts=self._settings.s3_timeouts,
            stream_threshold=self._settings.stream_threshold_bytes,
            on_progress=self._breaker.alive,
        )
        slot = SessionSlot(session=session, poster=poster, names=set() if self._unique_names else None)
        self._slots.append(slot)
        self._stats.session_opened()
        logger.info("Opened upload session %s", session.session_id)
        return slot

    async def _create_session(self) -> UploadSession:
        for attempt in range(1, _CREATE_TRIES + 1):
            try:
                return await self._api.create_upload_session(
                    self._workspace, write_mode=self._write_mode, enable_parallel_processing=self._parallel
                )
            except TransportError as exc:
                # The answer was lost (a refused connection is retried below us already): the server may
                # have opened a session we cannot use (its storage credentials never arrived). It stays
                # empty and expires; nothing is lost by asking for another one.
                if attempt == _CREATE_TRIES:
                    raise
                logger.warning("Creating an upload session got no answer (%s); trying again", exc)
        raise AssertionError("unreachable")

    def _retire(self, slot: SessionSlot) -> None:
        """No more bundles go to `slot`: close it once its last bundle is done."""
        self._current = None
        slot.retired = True
        if slot.outstanding == 0:
            slot.drained.set()
        assert self._task_group is not None
        self._task_group.start_soon(self._close_when_drained, slot)

    async def _close_when_drained(self, slot: SessionSlot) -> None:
        await slot.drained.wait()
        try:
            await self._post_requeued(slot)
            await self._close(slot)
        except Exception as exc:
            self._fail(exc)

    async def _post_requeued(self, slot: SessionSlot) -> None:
        """Post what failed transiently once more, then look up lost answers, before the session closes."""
        if not slot.requeued:
            return
        pending, slot.requeued = slot.requeued, []
        logger.info("Posting %d object(s) of session %s once more", len(pending), slot.session.session_id)
        failures: list[Failure] = []
        limiter = anyio.CapacityLimiter(self._concurrency)

        async def again(failure: Failure) -> None:
            async with limiter:
                retry_failure = await self._poster.post(slot.poster, failure.rest)
            if retry_failure is None:
                slot.raw_uploaded += 1
            else:
                failures.append(retry_failure)

        async with anyio.create_task_group() as group:
            for failure in pending:
                group.start_soon(again, failure)
        if any(failure.ambiguous and failure.is_file for failure in failures):
            stored = await self._stored_names(slot)
            for failure in failures:
                if failure.ambiguous and failure.is_file and failure.item.name in stored:
                    logger.info("%r is stored although its answer was lost", failure.item.name)
                    self._poster.stored(failure)
                    slot.raw_uploaded += 1
                else:
                    self._poster.settle(failure)
            return
        for failure in failures:
            self._poster.settle(failure)

    async def _stored_names(self, slot: SessionSlot) -> frozenset[str]:
        """The names the session has received (empty where the API does not list a session's files)."""
        try:
            names = await self._api.session_file_names(self._workspace, slot.session.session_id)
        except DeepsetCloudError as exc:
            logger.warning("Cannot list the files of session %s: %s", slot.session.session_id, exc)
            return frozenset()
        return frozenset() if names is None else names

    def _settle_requeued(self) -> None:
        """The upload stops: whatever waits for its second post is a failure now."""
        for slot in self._slots:
            pending, slot.requeued = slot.requeued, []
            for failure in pending:
                self._poster.settle(failure)

    async def _close(self, slot: SessionSlot) -> None:
        try:
            await self._api.close_upload_session(self._workspace, slot.session.session_id)
        except ConflictError as exc:
            # 409: closed already (a retried close whose first answer was lost) or expired. Ask the
            # server which: an expired session's files are never ingested.
            status = await self._session_status(slot)
            if status is not UploadSessionStatusEnum.CLOSED:
                state = "not listed" if status is None else status.value
                raise ConflictError(
                    f"upload session {slot.session.session_id} could not be closed ({state}): its files will "
                    f"not be ingested; upload them again. {exc}",
                    status_code=exc.status_code,
                    method=exc.method,
                    url=exc.url,
                    body=exc.body,
                ) from None
            logger.info("Upload session %s was already closed", slot.session.session_id)
        slot.closed = True
        slot.names = None
        self._open_limit.release()
        self._stats.session_closed()
        logger.info("Closed upload session %s (%d objects)", slot.session.session_id, slot.objects)

    async def _session_status(self, slot: SessionSlot) -> UploadSessionStatusEnum | None:
        wanted = slot.session.session_id
        for page_number in range(1, _SESSION_LOOKUP_PAGES + 1):
            try:
                page = await self._api.list_upload_sessions_page(
                    self._workspace, page_number=page_number, limit=100, is_expired=None
                )
            except NotFoundError:
                return None
            for detail in page.data:
                if detail.session_id == wanted:
                    return detail.status
            if not page.has_more or not page.data:
                return None
        return None

    async def _close_open_sessions(self) -> None:
        """Close whatever is still open, even while being cancelled, within the close budget."""
        with anyio.move_on_after(self._settings.close_timeout_s, shield=True):
            for slot in self._slots:
                if slot.closed:
                    continue
                try:
                    await self._close(slot)
                except Exception as exc:
                    logger.warning("Could not close upload session %s: %s", slot.session.session_id, exc)

    async def _worker(self, intake: BundleIntake) -> None:
        """Take bundles until the supply is used up; the last worker to finish retires the session."""
        poster = self._poster
        stats = self._stats
        while True:
            try:
                bundle = intake.next_nowait() or await intake.next()
                if bundle is None:
                    break
                slot = self._slot_nowait(bundle) or await self._slot_for(bundle)
            except Exception as exc:  # the supply failed, or a session could not be opened
                self._fail(exc)
                return
            stats.job_started()
            try:
                # The sidecar goes first: a file is never stored without the metadata it was meant to have.
                failure = await poster.post(slot.poster, bundle)
                if failure is None:
                    slot.raw_uploaded += 1
                elif failure.transient:
                    slot.requeued.append(failure)  # posted once more before the session closes
                else:
                    poster.settle(failure)
            except Exception as exc:  # a bug, not a per-file error: stop everything
                self._fail(exc)
            finally:
                stats.job_finished()
                slot.release()
        self._idle_workers += 1
        if self._idle_workers == self._concurrency and self._current is not None:
            self._retire(self._current)  # no worker takes or assigns a bundle anymore
