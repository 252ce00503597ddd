"""The runtime of the generated sync facade: one event loop thread per process, and calls into it.

Every generated sync function is one call into this module. `run` awaits a coroutine, `iterate` drains an
async generator, `context` holds an async context manager open; `AsyncTwin` is the async object behind a
sync object (e.g. the `AsyncClient` behind a `Client`).

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
- Async generators run inside one task that hands items over through a memory object stream, so their
  timeouts, cancel scopes and `finally` blocks behave as in native async code.
- A forked child gets its own loop on its first call; `atexit` cancels what still runs, closes what is
  still open and stops the loop within `EXIT_BUDGET_S`, so the interpreter never hangs on exit. A twin
  dropped without `close()` has its close scheduled on the loop (never waited for: GC may run anywhere).
"""

from __future__ import annotations

import asyncio
import atexit
import builtins
import contextlib
import functools
import logging
import os
import sys
import threading
import warnings
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from types import TracebackType
from typing import Any, Generic, ParamSpec, Protocol, TypeVar, cast

import anyio
from anyio.from_thread import BlockingPortal
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from deepset_cloud.errors import SyncFacadeError, SyncInAsyncContextWarning

__all__ = [
    "CANCEL_GRACE_S",
    "EXIT_BUDGET_S",
    "ITERATE_BUFFER",
    "THREAD_NAME",
    "AsyncTwin",
    "context",
    "iterate",
    "run",
]

logger = logging.getLogger("deepset_cloud")

P = ParamSpec("P")
T = TypeVar("T")

THREAD_NAME = "deepset-cloud-sync"
CANCEL_GRACE_S = 5.0
"""How long an interrupted call waits for the cancelled coroutine's cleanup before re-raising."""
EXIT_BUDGET_S = 5.0
"""How long the exit hook may take to cancel calls, close clients and stop the loop thread."""
ITERATE_BUFFER = 1
"""Items an async generator may run ahead of its sync consumer, beyond the one it is handing over.

A consumer asking for more takes everything ready at once (here up to two pages per loop hop), while a
consumer that stops early has caused at most two extra page requests."""
_POLL_S = 0.25  # waits wake up this often to notice a dead loop thread (and to let Windows see Ctrl-C)
_INTERNAL_MODULES = ("deepset_cloud._portal", "deepset_cloud._sync_client", "deepset_cloud.sync_client")


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

    async def shutdown(self, twins: list[AsyncTwin[Any]], budget_s: float) -> None:
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
        self.twins: weakref.WeakSet[AsyncTwin[Any]] = weakref.WeakSet()
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
_abandoned: list[object] = []  # a forked child's inherited state, kept so GC never touches its sockets
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
        """Wait until the task finished; on interruption cancel it, allow its cleanup, re-raise."""
        try:
            self._loop_thread.wait_for(self.finished)
        except BaseException:
            if self._loop_thread.thread.is_alive():
                self.cancel()
                self.finished.wait(CANCEL_GRACE_S)
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


class _Pump(Generic[T]):
    """Runs an async iterator in one task and hands its items over through a memory object stream."""

    def __init__(self, source: Callable[[], AsyncIterator[T]]) -> None:
        self._source = source
        self._send: MemoryObjectSendStream[T]
        self._receive: MemoryObjectReceiveStream[T]
        self._send, self._receive = anyio.create_memory_object_stream[T](ITERATE_BUFFER)

    async def produce(self) -> None:
        iterator = self._source()
        try:
            async for item in iterator:
                await self._send.send(item)
        except anyio.BrokenResourceError:
            pass  # the consumer is gone
        finally:
            self._send.close()
            aclose = getattr(iterator, "aclose", None)
            if aclose is not None:
                # Like `async with aclosing(...)`: the generator's own cleanup runs here, in its task.
                with anyio.move_on_after(CANCEL_GRACE_S, shield=True):
                    await aclose()

    async def next_batch(self) -> list[T] | None:
        """Wait for the next item, then take whatever else is ready; None at the end."""
        try:
            batch = [await self._receive.receive()]
        except anyio.EndOfStream:
            self._receive.close()
            return None
        while True:
            try:
                batch.append(self._receive.receive_nowait())
            except (anyio.WouldBlock, anyio.EndOfStream):
                return batch

    @property
    def closed(self) -> bool:
        """Whether both ends of the stream are closed (the producer and the consumer are done)."""
        stats = self._receive.statistics()
        return stats.open_send_streams == 0 and stats.open_receive_streams == 0

    def close_streams(self) -> None:
        """Close both ends (idempotent); a producer waiting in `send` then stops."""
        self._receive.close()
        self._send.close()


def _stop_pump(loop_thread: _LoopThread, producer: _Call[None], pump: _Pump[Any]) -> None:
    loop = loop_thread.loop
    alive = loop is not None and not loop.is_closed() and loop_thread.thread.is_alive()
    if not alive:
        pump.close_streams()  # the loop is gone: nobody else touches the streams
        return
    assert loop is not None
    producer.cancel()
    try:
        loop.call_soon_threadsafe(pump.close_streams)
    except RuntimeError:
        pump.close_streams()
        return
    if (
        not producer.finished.is_set()
        and threading.get_ident() != loop_thread.ident
        and not _runtime.shut_down
    ):
        # Deterministic cleanup: the generator's `finally` has run when `close()` returns.
        producer.finished.wait(CANCEL_GRACE_S)


def iterate(
    fn: Callable[P, AsyncIterator[T]], /, *args: P.args, **kwargs: P.kwargs
) -> Generator[T, None, None]:
    """Iterate `fn(*args, **kwargs)`, an async iterator, from a sync thread.

    One task on the loop owns the async iterator for its whole life; items are handed over in batches (one
    loop hop per batch, never per item). Closing this generator (`break`, `close()`, garbage collection)
    stops that task and runs the async generator's cleanup in it.

    Raises:
        SyncFacadeError: called from the SDK's loop thread, or the loop stopped.
    """
    loop_thread = _loop_thread_for_caller()
    pump = _Pump(functools.partial(fn, *args, **kwargs))
    producer = _Call(loop_thread, pump.produce, (), {})
    try:
        while True:
            batch = _Call(loop_thread, pump.next_batch, (), {}).result()
            if batch is None:
                break
            yield from batch
        producer.result()  # re-raise what ended the async iterator, if anything
    finally:
        if not pump.closed:
            _stop_pump(loop_thread, producer, pump)


class _SyncContext(AbstractContextManager[T]):
    """Holds an async context manager open in one task between `__enter__` and `__exit__`."""

    def __init__(self, factory: Callable[[], AbstractAsyncContextManager[T]]) -> None:
        self._factory = factory
        self._entered = threading.Event()
        self._exit_info: tuple[Any, Any, Any] = (None, None, None)
        self._exit_requested: anyio.Event | None = None
        self._value: T | None = None
        self._owner: _Call[bool | None] | None = None

    async def _own(self) -> bool | None:
        try:
            self._exit_requested = anyio.Event()
            manager = self._factory()
            self._value = await manager.__aenter__()
        finally:
            self._entered.set()
        try:
            await self._exit_requested.wait()
        finally:
            # Runs with the body's exception, or with None when the loop is shutting down.
            result = await manager.__aexit__(*self._exit_info)
        return result

    def __enter__(self) -> T:
        loop_thread = _loop_thread_for_caller()
        owner = self._owner = _Call(loop_thread, self._own, (), {})
        try:
            loop_thread.wait_for(self._entered)
        except BaseException:
            owner.cancel()
            owner.finished.wait(CANCEL_GRACE_S)
            raise
        if owner.finished.is_set():
            owner.result()  # __aenter__ failed: raise its error
        return cast(T, self._value)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        owner = self._owner
        assert owner is not None
        assert self._exit_requested is not None
        self._exit_info = (exc_type, exc, tb)
        loop = owner._loop_thread.loop
        assert loop is not None
        try:
            loop.call_soon_threadsafe(self._exit_requested.set)
        except RuntimeError as error:
            raise SyncFacadeError("The SDK's event loop has stopped.") from error
        return owner.result()


def context(
    fn: Callable[P, AbstractAsyncContextManager[T]], /, *args: P.args, **kwargs: P.kwargs
) -> AbstractContextManager[T]:
    """Return a sync context manager that enters and exits `fn(*args, **kwargs)` in one task."""
    return _SyncContext(functools.partial(fn, *args, **kwargs))


class _AsyncClosable(Protocol):
    async def aclose(self) -> None: ...


C = TypeVar("C", bound=_AsyncClosable)


class AsyncTwin(Generic[C]):
    """The async object behind a sync facade object.

    Built at once (async constructors here do no I/O, so their errors surface at construction), rebuilt
    in a forked child (the parent's object belongs to the parent's loop), closed by `close()`, else when
    garbage-collected (scheduled on the loop, never waited for), else at exit.
    """

    def __init__(self, factory: Callable[P, C], /, *args: P.args, **kwargs: P.kwargs) -> None:
        self._factory = functools.partial(factory, *args, **kwargs)
        self._closed = False
        self._bind(self._factory())

    def _bind(self, target: C) -> None:
        self._object = target
        self._runtime = _runtime
        self._finalizer = weakref.finalize(self, _close_soon, _runtime, target)
        self._finalizer.atexit = False  # the exit hook closes what is still alive
        _runtime.twins.add(self)

    def get(self) -> C:
        """Return the async object for this process."""
        if self._runtime is not _runtime and not self._closed:
            with _runtime.lock:
                if self._runtime is not _runtime:
                    self._finalizer.detach()  # never close the parent's object from a child
                    _abandoned.append(self._object)
                    self._bind(self._factory())
        return self._object

    def close(self) -> None:
        """Close the async object through the loop; closing twice is harmless."""
        if self._closed:
            return
        target = self.get()
        self._closed = True
        self._finalizer.detach()
        _runtime.twins.discard(self)
        run(target.aclose)

    async def aclose_here(self) -> None:
        """Close the async object on the running loop (used by the exit hook)."""
        if not self._closed:
            self._closed = True
            self._finalizer.detach()
            await self._object.aclose()

    def repr_as(self, name: str) -> str:
        """Return the async object's repr with its class name replaced by `name`."""
        text = repr(self._object)
        prefix = type(self._object).__name__
        return name + text[len(prefix) :] if text.startswith(prefix) else f"<{name} {text}>"


def _close_soon(runtime: _Runtime, target: _AsyncClosable) -> None:
    """Schedule `target.aclose()` on the loop without waiting (GC may even run on the loop thread)."""
    loop_thread = runtime.loop_thread
    if runtime is not _runtime or runtime.shut_down or loop_thread is None or loop_thread.loop is None:
        return  # never used on a loop (nothing to close), another process's, or exiting anyway
    with contextlib.suppress(RuntimeError):  # the loop has closed
        loop_thread.loop.call_soon_threadsafe(loop_thread.spawn, target.aclose)


def _after_fork_in_child() -> None:
    global _runtime
    # The loop thread does not exist in the child; its loop, sessions and sockets belong to the parent.
    # Keep them referenced (never collected, never closed here) and start afresh on the first call.
    _abandoned.append(_runtime)
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
