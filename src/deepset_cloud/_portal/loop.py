"""The sync facade's event loop thread (one per process) and `run`, one call into it.

- One loop per process: a daemon thread running `anyio.run` (asyncio backend) whose main task keeps a
  `BlockingPortal` open until stopped. It starts on the first sync call. aiohttp sessions are created on
  it by the async core and reused by later calls, so a sync call costs one loop hop, not a connection.
- Calls are handed over with `loop.call_soon_threadsafe`: one wake-up of the loop, and a handle that can
  be cancelled from the first instant (the portal's `start_task_soon` first blocks on a scheduling hop,
  during which a Ctrl-C would orphan the task).
- A caller interrupted while waiting (Ctrl-C) cancels the task, waits up to `CANCEL_GRACE_S` for its
  cleanup (e.g. closing upload sessions), then re-raises.
- Calling from the loop thread raises `SyncFacadeError` instead of deadlocking; calling from a thread
  that runs its own loop (Jupyter, async Django) works, with a `SyncInAsyncContextWarning` once per call
  site (not under IPython, where blocking cells are expected).
- A forked child gets its own loop on its first call; `atexit` cancels what still runs, closes the twins
  still open and stops the loop within `EXIT_BUDGET_S`, so the interpreter never hangs on exit.

The per-process state lives here only (`_runtime`, replaced in a forked child): other modules read it as
`_portal_loop._runtime`, never through a `from` import that would keep a stale binding.
"""

from __future__ import annotations

import asyncio
import atexit
import builtins
import contextlib
import logging
import os
import sys
import threading
import warnings
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

import anyio
from anyio.from_thread import BlockingPortal

from deepset_cloud._inherited import keep_forever
from deepset_cloud.errors import SyncFacadeError, SyncInAsyncContextWarning

__all__ = ["CANCEL_GRACE_S", "EXIT_BUDGET_S", "THREAD_NAME", "run"]

logger = logging.getLogger("deepset_cloud")

P = ParamSpec("P")
T = TypeVar("T")

THREAD_NAME = "deepset-cloud-sync"
CANCEL_GRACE_S = 5.0
"""How long an interrupted call waits for the cancelled coroutine's cleanup before re-raising."""
EXIT_BUDGET_S = 5.0
"""How long the exit hook may take to cancel calls, close clients and stop the loop thread."""
_POLL_S = 0.25  # waits wake up this often to notice a dead loop thread (and to let Windows see Ctrl-C)
# A prefix match: also covers deepset_cloud._portal.loop and deepset_cloud._portal.bridges.
_INTERNAL_MODULES = ("deepset_cloud._portal", "deepset_cloud.sync_client")


class _OpenTwin(Protocol):
    """What the exit hook needs of an `AsyncTwin` (`deepset_cloud._portal.bridges`) to close it."""

    _runtime: _Runtime

    async def aclose_here(self) -> None: ...


class _LoopThread:
    """An asyncio loop in a daemon thread, kept alive by a `BlockingPortal` until `stop`."""

    def __init__(self) -> None:
        self.calls: set[_Call[Any]] = set()  # touched on the loop thread only
        self._spawned: set[asyncio.Task[None]] = set()  # fire-and-forget tasks, kept alive until done
        self.loop: asyncio.AbstractEventLoop | None = None
        self.ident: int | None = None
        self._portal: BlockingPortal | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._main, name=THREAD_NAME, daemon=True)

    def start(self) -> asyncio.AbstractEventLoop:
        self.thread.start()
        self._ready.wait()
        if self.loop is None:
            raise SyncFacadeError("The SDK could not start its event loop thread.") from self._error
        return self.loop

    def _main(self) -> None:
        try:
            anyio.run(self._serve, backend="asyncio")
        except BaseException as exc:  # a thread has nobody to raise to: log and report
            self._error = exc
            logger.error("the SDK's event loop thread failed", exc_info=exc)
        finally:
            self._ready.set()

    async def _serve(self) -> None:
        async with BlockingPortal() as portal:
            self._portal = portal
            self.ident = threading.get_ident()
            self.loop = asyncio.get_running_loop()
            self._ready.set()
            await portal.sleep_until_stopped()

    def wait_for(self, event: threading.Event) -> None:
        """Block until `event` is set (from another thread).

        Raises:
            SyncFacadeError: the loop thread died first (noticed within `_POLL_S`).
        """
        while not event.wait(_POLL_S):
            if not self.thread.is_alive():
                raise SyncFacadeError("The SDK's event loop thread stopped unexpectedly.")

    def spawn(self, fn: Callable[[], Awaitable[None]]) -> None:
        """Start `fn()` as a task nobody waits for (on the loop thread); failures are logged."""

        async def guarded() -> None:
            try:
                await fn()
            except Exception:
                logger.debug("background close failed", exc_info=True)

        assert self.loop is not None
        task = self.loop.create_task(guarded())
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def shutdown(self, twins: list[_OpenTwin], budget_s: float) -> None:
        """Cancel the calls still running, close the live twins, stop the portal (on the loop)."""
        me = asyncio.current_task()
        tasks = [call.task for call in self.calls if call.task is not None and call.task is not me]
        for task in tasks:
            task.cancel()
        tasks += self._spawned  # closes scheduled by garbage collection: let them finish
        if tasks:
            await asyncio.wait(tasks, timeout=budget_s / 2)
        with anyio.move_on_after(budget_s / 2):
            for twin in twins:
                try:
                    await twin.aclose_here()
                except Exception:  # one failure must not keep the others open
                    logger.debug("closing %r at exit failed", twin, exc_info=True)
        assert self._portal is not None
        await self._portal.stop(cancel_remaining=True)


class _Runtime:
    """The per-process state: the loop thread (started lazily) and the twins to close at exit."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self.lock = threading.Lock()
        self.loop_thread: _LoopThread | None = None
        self.twins: weakref.WeakSet[_OpenTwin] = weakref.WeakSet()
        self.shut_down = False

    def running_loop_thread(self) -> _LoopThread:
        current = self.loop_thread
        if current is not None and current.thread.is_alive():
            return current
        with self.lock:
            if self.shut_down:
                raise SyncFacadeError("The sync API cannot be used while the interpreter is exiting.")
            current = self.loop_thread
            if current is None or not current.thread.is_alive():
                if current is not None:
                    logger.warning("the SDK's event loop thread had stopped; starting a new one")
                current = _LoopThread()
                current.start()
                self.loop_thread = current
            return current


_runtime = _Runtime()
_warned_sites: set[tuple[str, int]] = set()


class _Call(Generic[T]):
    """One coroutine run as a task on the loop thread, waited for from the calling thread."""

    def __init__(
        self, loop_thread: _LoopThread, fn: Callable[..., Awaitable[T]], args: Any, kwargs: Any
    ) -> None:
        self.task: asyncio.Task[None] | None = None
        self.finished = threading.Event()
        self._loop_thread = loop_thread
        self._start_args: tuple[Callable[..., Awaitable[T]], Any, Any] | None = (fn, args, kwargs)
        self._value: T | None = None
        self._error: BaseException | None = None
        assert loop_thread.loop is not None
        try:
            loop_thread.loop.call_soon_threadsafe(self._start)
        except RuntimeError as exc:  # the loop closed under us
            raise SyncFacadeError("The SDK's event loop has stopped.") from exc

    def _start(self) -> None:
        assert self._loop_thread.loop is not None
        self.task = self._loop_thread.loop.create_task(self._body())
        self.task.add_done_callback(self._on_done)
        self._loop_thread.calls.add(self)

    async def _body(self) -> None:
        assert self._start_args is not None
        fn, args, kwargs = self._start_args
        self._start_args = None
        try:
            self._value = await fn(*args, **kwargs)
        except BaseException as exc:  # handed to the calling thread, which re-raises it
            self._error = exc

    def _on_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() and self._error is None:  # cancelled before its first step
            self._error = asyncio.CancelledError()
        self._start_args = None
        self._loop_thread.calls.discard(self)
        self.finished.set()

    def cancel(self) -> None:
        """Cancel the task (from any thread, without waiting)."""
        if self.finished.is_set() or self._loop_thread.loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop has closed: nothing runs there any more
            self._loop_thread.loop.call_soon_threadsafe(self._cancel_on_loop)

    def _cancel_on_loop(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def wait(self) -> None:
        """Wait until the task finished; on interruption cancel it, allow its cleanup, re-raise.

        An upload interrupted this way hands what it had done to the interruption (e.g. the
        `KeyboardInterrupt`) as `upload_report`.
        """
        try:
            self._loop_thread.wait_for(self.finished)
        except BaseException as interruption:
            if self._loop_thread.thread.is_alive():
                self.cancel()
                self.finished.wait(CANCEL_GRACE_S)
            report = getattr(self._error, "upload_report", None)
            if report is not None:
                vars(interruption)["upload_report"] = report  # an attribute BaseException does not declare
            raise

    def result(self) -> T:
        self.wait()
        error = self._error
        if error is not None:
            self._error = None  # no reference cycle through the traceback
            if isinstance(error, asyncio.CancelledError):
                raise SyncFacadeError("The call was cancelled because the SDK's event loop is stopping.")
            raise error
        return cast(T, self._value)


def _is_internal(frame: Any) -> bool:
    name = frame.f_globals.get("__name__", "")
    return isinstance(name, str) and name.startswith(_INTERNAL_MODULES)


def _warn_if_loop_running() -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    if getattr(builtins, "__IPYTHON__", False):
        return  # notebooks block on every cell anyway; a warning per cell would only be noise
    frame: Any = sys._getframe(1)
    level = 2
    while frame is not None and _is_internal(frame):
        frame = frame.f_back
        level += 1
    site = ("?", 0) if frame is None else (frame.f_code.co_filename, frame.f_lineno)
    if site in _warned_sites:
        return
    _warned_sites.add(site)
    warnings.warn(
        "A blocking deepset_cloud call was made from a thread that runs an event loop, which it blocks "
        "until the call returns; in async code use `deepset_cloud.async_client` or `AsyncClient`.",
        SyncInAsyncContextWarning,
        stacklevel=level,
    )


def _loop_thread_for_caller() -> _LoopThread:
    runtime = _runtime
    current = runtime.loop_thread
    if current is not None and current.ident == threading.get_ident():
        raise SyncFacadeError(
            "The sync API was called from inside the SDK's own event loop (e.g. from a callback), "
            "which would deadlock; use the async API (`deepset_cloud.async_client`, `AsyncClient`) there."
        )
    _warn_if_loop_running()
    return runtime.running_loop_thread()


def run(fn: Callable[P, Awaitable[T]], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """Run `fn(*args, **kwargs)` on the SDK's event loop thread and return its result.

    Raises:
        SyncFacadeError: called from the SDK's loop thread, or the loop stopped.
    """
    return _Call(_loop_thread_for_caller(), fn, args, kwargs).result()


def _after_fork_in_child() -> None:
    global _runtime
    # The loop thread does not exist in the child; its loop, sessions and sockets belong to the parent.
    # Keep them referenced (never collected, never closed here) and start afresh on the first call.
    keep_forever(_runtime)
    _runtime = _Runtime()


def _shutdown_at_exit() -> None:
    runtime = _runtime
    if runtime.pid != os.getpid():
        return
    with runtime.lock:
        runtime.shut_down = True
        loop_thread = runtime.loop_thread
    if loop_thread is None or not loop_thread.thread.is_alive():
        return
    twins = [twin for twin in runtime.twins if twin._runtime is runtime]
    try:
        call = _Call(loop_thread, loop_thread.shutdown, (twins, EXIT_BUDGET_S * 0.8), {})
        call.finished.wait(EXIT_BUDGET_S)
    except SyncFacadeError:
        return
    # After the portal stops, anyio.run cancels what is left and closes the loop's async generators
    # (the async core closes its cached sessions there).
    loop_thread.thread.join(EXIT_BUDGET_S * 0.2)


if hasattr(os, "register_at_fork"):  # POSIX only; there is no fork elsewhere
    os.register_at_fork(after_in_child=_after_fork_in_child)
atexit.register(_shutdown_at_exit)
