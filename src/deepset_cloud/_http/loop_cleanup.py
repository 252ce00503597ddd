"""Close HTTP sessions when the event loop that owns them ends; forget the parent's in a forked child.

aiohttp sessions belong to one loop. A user who calls the SDK inside `asyncio.run(...)` several times
gets a new loop each time, and nothing would close the sessions of the finished loops ("Unclosed client
session" warnings, leaked sockets). `asyncio.run`, `asyncio.Runner` and `anyio.run` all call
`loop.shutdown_asyncgens()` before closing the loop, which `aclose()`s every async generator the loop
has seen. So for each loop we start one tiny async generator, park it at a `yield`, and close the
loop's resources in its `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import threading
import weakref
from collections.abc import AsyncGenerator
from typing import Protocol

from deepset_cloud._inherited import keep_forever

__all__ = ["LoopResource", "register", "resources_of", "unregister"]

logger = logging.getLogger("deepset_cloud")


class LoopResource(Protocol):
    """Something that must be closed on the loop it was opened on."""

    async def close_on_loop_end(self) -> None:
        """Release everything bound to the ending loop."""

    def forget_inherited(self) -> None:
        """In a forked child: drop what belongs to the parent's loop without closing it (see `_inherited`)."""


class _LoopEntry:
    __slots__ = ("__weakref__", "guard", "resources")

    def __init__(self) -> None:
        self.resources: dict[int, LoopResource] = {}
        self.guard: AsyncGenerator[None, None] | None = None


# Keyed weakly by loop: the entry (and its guard generator) goes away with a loop that was never shut
# down properly; the guard is removed explicitly when the loop shuts down.
_ENTRIES: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopEntry] = weakref.WeakKeyDictionary()
# Loops run in several threads (asyncio.run in workers, the sync facade's portal): guard the registry.
_LOCK = threading.Lock()


async def _guard(loop: asyncio.AbstractEventLoop, entry: _LoopEntry) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        with _LOCK:
            if _ENTRIES.get(loop) is entry:
                del _ENTRIES[loop]
            resources = list(entry.resources.values())
            entry.resources.clear()
        for resource in resources:
            try:
                await resource.close_on_loop_end()
            except Exception:  # one failure must not keep the others open
                logger.debug("closing %r at loop end failed", resource, exc_info=True)


def register(loop: asyncio.AbstractEventLoop, resource: LoopResource) -> None:
    """Close `resource` when `loop` shuts down its async generators. Call from a coroutine on `loop`."""
    with _LOCK:
        _register_locked(loop, resource)


def _register_locked(loop: asyncio.AbstractEventLoop, resource: LoopResource) -> None:
    entry = _ENTRIES.get(loop)
    if entry is None:
        # Forget loops that were closed without shutting down their generators; nothing can run there.
        for stale in [other for other in _ENTRIES if other.is_closed()]:
            del _ENTRIES[stale]
        entry = _LoopEntry()
        guard = _guard(loop, entry)
        # The first step registers the generator with the running loop (sys.set_asyncgen_hooks) and parks
        # it at its `yield`; asend(None).send(None) runs that step synchronously.
        step = guard.asend(None)
        with contextlib.suppress(StopIteration):
            step.send(None)
        entry.guard = guard
        _ENTRIES[loop] = entry
    entry.resources[id(resource)] = resource


def unregister(loop: asyncio.AbstractEventLoop, resource: LoopResource) -> None:
    """Forget `resource` (it was closed by its owner)."""
    with _LOCK:
        entry = _ENTRIES.get(loop)
        if entry is not None:
            entry.resources.pop(id(resource), None)


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()  # another thread of the parent may have held it at the fork
    # Every loop but the one this thread runs (an async program that forked) belongs to the parent.
    running = asyncio._get_running_loop()
    for loop, entry in list(_ENTRIES.items()):
        if loop is running:
            continue
        del _ENTRIES[loop]
        keep_forever((loop, entry))  # the loop, its guard generator and its resources stay untouched
        for resource in entry.resources.values():
            resource.forget_inherited()


if hasattr(os, "register_at_fork"):  # POSIX only; there is no fork elsewhere
    os.register_at_fork(after_in_child=_after_fork_in_child)


def resources_of(loop: asyncio.AbstractEventLoop) -> list[LoopResource]:
    """Return the resources registered for `loop` (for tests and diagnostics)."""
    with _LOCK:
        entry = _ENTRIES.get(loop)
        return [] if entry is None else list(entry.resources.values())
