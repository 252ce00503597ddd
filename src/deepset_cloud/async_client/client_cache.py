"""The clients behind the module-level functions: one per (running loop, api_url, api_key).

Repeated calls with the same credentials on one event loop reuse one connection pool. The clients of a
loop are closed when that loop shuts down (see `_http.loop_cleanup`), or earlier by `aclose_cached_clients()`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import weakref

from deepset_cloud._config import resolve_settings
from deepset_cloud._http import loop_cleanup
from deepset_cloud.async_client.client import AsyncClient

__all__ = ["aclose_cached_clients", "cached_client"]

logger = logging.getLogger("deepset_cloud")


class _LoopClients:
    """The cached clients of one event loop; closed when the loop ends."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.clients: dict[tuple[str, str], AsyncClient] = {}
        self._loop = weakref.ref(loop)  # weak: the cache is keyed weakly by this loop

    async def close_on_loop_end(self) -> None:
        loop = self._loop()
        with _LOCK:
            if loop is not None and _CACHE.get(loop) is self:
                del _CACHE[loop]
            clients = list(self.clients.values())
            self.clients.clear()
        for client in clients:
            await client.aclose()

    def forget_inherited(self) -> None:
        """In a forked child: the parent's loop never runs here; its clients' transports forget themselves."""
        loop = self._loop()
        if loop is not None and _CACHE.get(loop) is self:
            del _CACHE[loop]


_CACHE: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClients] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()  # loops of several threads share the cache


def _after_fork_in_child() -> None:
    global _LOCK
    _LOCK = threading.Lock()  # another thread of the parent may have held it at the fork


if hasattr(os, "register_at_fork"):  # POSIX only
    os.register_at_fork(after_in_child=_after_fork_in_child)


def cached_client(api_key: str | None, api_url: str | None) -> AsyncClient:
    """Return the running loop's shared client for these credentials, creating it on first use.

    Credentials are resolved now (explicit > environment > .env files > defaults). Must be called from a
    coroutine; the client is closed when the loop ends or by `aclose_cached_clients()`.

    Raises:
        ConfigurationError: no API key is configured.
    """
    settings = resolve_settings(api_key, api_url, read_workspace=False)
    loop = asyncio.get_running_loop()
    with _LOCK:
        entry = _CACHE.get(loop)
        if entry is None:
            # Forget loops that were closed without shutting down their generators (nothing can run there).
            for stale in [other for other in _CACHE if other.is_closed()]:
                del _CACHE[stale]
            entry = _CACHE[loop] = _LoopClients(loop)
            loop_cleanup.register(loop, entry)
        key = (settings.api_url, settings.api_key)
        client = entry.clients.get(key)
        if client is None:
            client = entry.clients[key] = AsyncClient(settings.api_key, settings.api_url)
            logger.debug("created a shared client for %s", settings.api_url)
        return client


async def aclose_cached_clients() -> None:
    """Close the shared clients of the running loop (the module-level functions create them)."""
    loop = asyncio.get_running_loop()
    with _LOCK:
        entry = _CACHE.pop(loop, None)
    if entry is not None:
        loop_cleanup.unregister(loop, entry)
        await entry.close_on_loop_end()
