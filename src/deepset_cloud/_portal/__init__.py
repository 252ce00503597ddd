"""The runtime of the generated sync facade: one event loop thread per process, and calls into it.

Every generated sync function is one call into this module. `run` awaits a coroutine, `iterate` drains an
async generator; `AsyncTwin` is the async object behind a sync object (e.g. the `AsyncClient` behind a `Client`).

This module only gathers those names for the generated code (its imports stay stable):
- `deepset_cloud._portal.loop`: the loop thread (started lazily, reset in a forked child, stopped at
  exit) and `run`;
- `deepset_cloud._portal.bridges`: `iterate` and `AsyncTwin`, built on `run`'s calls.
"""

from __future__ import annotations

from deepset_cloud._config import hide_key
from deepset_cloud._portal.bridges import ITERATE_BUFFER, AsyncTwin, iterate
from deepset_cloud._portal.loop import CANCEL_GRACE_S, EXIT_BUDGET_S, THREAD_NAME, run
from deepset_cloud.errors import SyncFacadeError as SyncFacadeError

__all__ = [
    "CANCEL_GRACE_S",
    "EXIT_BUDGET_S",
    "ITERATE_BUFFER",
    "THREAD_NAME",
    "AsyncTwin",
    "hide_key",
    "iterate",
    "run",
]
