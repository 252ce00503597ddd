"""Helpers shared by the whole suite: a retry policy with tiny waits, and polling for a condition."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import anyio

from deepset_cloud import RetryPolicy


def fast_retry(max_tries: int = 4, max_time_s: float = 30) -> RetryPolicy:
    """A retry policy whose backoff waits are tiny (a server's Retry-After is still honoured)."""
    return RetryPolicy(max_tries=max_tries, base_delay_s=0.001, max_delay_s=0.01, max_time_s=max_time_s)


def wait_until(condition: Callable[[], bool], timeout_s: float = 10.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail after `timeout_s` (a deadline, not a sleep standing in for sync)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout_s} s waiting for {what}"
        time.sleep(0.001)


async def poll_until(
    check: Callable[[], Awaitable[bool]], timeout_s: float = 10.0, what: str = "condition"
) -> None:
    """Await `check` until it is true; fail after `timeout_s`."""
    with anyio.move_on_after(timeout_s):
        while not await check():
            await anyio.sleep(0.01)
        return
    raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
