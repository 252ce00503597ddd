"""Test probe: make several requests meet inside Django before their views run.

Requests carrying the `X-Rendezvous` header wait at a shared `threading.Barrier` (installed by a test with
`rendezvous(parties)`) in the same thread that then runs the sync view. The barrier only opens when
`parties` requests are in flight at once, so passing it proves the server ran those views in parallel
threads, which then all call the sync facade at the same time. Without the header the middleware does
nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

HEADER = "X-Rendezvous"
_META_KEY = "HTTP_X_RENDEZVOUS"

_lock = threading.Lock()
_barrier: threading.Barrier | None = None


@contextmanager
def rendezvous(parties: int, *, timeout_s: float = 15.0) -> Iterator[threading.Barrier]:
    """Install a barrier for `parties` requests; a request that waits longer than `timeout_s` fails (500)."""
    global _barrier
    barrier = threading.Barrier(parties, timeout=timeout_s)
    with _lock:
        if _barrier is not None:
            raise RuntimeError("a rendezvous is already installed")
        _barrier = barrier
    try:
        yield barrier
    finally:
        barrier.abort()  # releases anyone still waiting if the test failed half-way
        with _lock:
            _barrier = None


class RendezvousMiddleware:
    """Sync-only Django middleware: requests with `X-Rendezvous` wait at the installed barrier."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        if _META_KEY in request.META:
            barrier = _barrier
            if barrier is None:
                raise RuntimeError(f"{HEADER} sent but no rendezvous is installed")
            barrier.wait()  # BrokenBarrierError (-> 500) if the others never arrive
        return self.get_response(request)
