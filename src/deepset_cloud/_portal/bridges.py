"""Bridges from async shapes to sync ones, each running on the loop of `deepset_cloud._portal.loop`.

`iterate` drains an async generator, `AsyncTwin` is the
async object behind a sync object (e.g. the `AsyncClient` behind a `Client`).

- Async generators run inside one task that hands items over through a memory object stream, so their
  timeouts, cancel scopes and `finally` blocks behave as in native async code.
- A twin is rebuilt in a forked child; one dropped without `close()` has its close scheduled on the loop
  (never waited for: GC may run anywhere); the exit hook closes the twins still open.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import weakref
from collections.abc import AsyncIterator, Callable, Generator
from typing import Any, Generic, ParamSpec, Protocol, TypeVar

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from deepset_cloud._inherited import keep_forever
from deepset_cloud._portal import loop as _portal_loop
from deepset_cloud._portal.loop import (
    CANCEL_GRACE_S,
    _Call,
    _loop_thread_for_caller,
    _LoopThread,
    _Runtime,
    run,
)

__all__ = ["ITERATE_BUFFER", "AsyncTwin", "iterate"]

P = ParamSpec("P")
T = TypeVar("T")

ITERATE_BUFFER = 1
"""Items an async generator may run ahead of its sync consumer, beyond the one it is handing over.

A consumer asking for more takes everything ready at once (here up to two pages per loop hop), while a
consumer that stops early has caused at most two extra page requests (three for a file listing, whose
paginator keeps one request ahead of its own)."""


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
        and not _portal_loop._runtime.shut_down
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
        runtime = _portal_loop._runtime
        self._object = target
        self._runtime = runtime
        self._finalizer = weakref.finalize(self, _close_soon, runtime, target)
        self._finalizer.atexit = False  # the exit hook closes what is still alive
        runtime.twins.add(self)

    def get(self) -> C:
        """Return the async object for this process."""
        runtime = _portal_loop._runtime
        if self._runtime is not runtime and not self._closed:
            with runtime.lock:
                if self._runtime is not runtime:
                    self._finalizer.detach()  # never close the parent's object from a child
                    keep_forever(self._object)
                    self._bind(self._factory())
        return self._object

    def close(self) -> None:
        """Close the async object through the loop; closing twice is harmless."""
        if self._closed:
            return
        target = self.get()
        self._closed = True
        self._finalizer.detach()
        _portal_loop._runtime.twins.discard(self)
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
    if (
        runtime is not _portal_loop._runtime
        or runtime.shut_down
        or loop_thread is None
        or loop_thread.loop is None
    ):
        return  # never used on a loop (nothing to close), another process's, or exiting anyway
    with contextlib.suppress(RuntimeError):  # the loop has closed
        loop_thread.loop.call_soon_threadsafe(loop_thread.spawn, target.aclose)
