"""Upload-wide fault tolerance of storage posts: retry while the session lives, stop a dead endpoint.

A storage post to an open session is idempotent (same key, same body), so a transient failure (throttling,
5xx, a broken connection, a lost answer) is retried for as long as the session stays open and the upload's
deadline allows, not a fixed number of times. What keeps this from hanging on a dead endpoint is one
`StorageBreaker` per upload: it trips when storage posts have been in flight or waiting to retry for
`stall_limit_s` without a single success (a streamed body's progress counts as life), and its watcher then
ends the upload with an error, whatever each post's own timeouts are.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import anyio
import attrs

from deepset_cloud._retry import RetryPolicy
from deepset_cloud.errors import DeepsetCloudError, UploadError

__all__ = ["PersistentRetry", "StorageBreaker"]

T = TypeVar("T")
logger = logging.getLogger("deepset_cloud.upload")

Clock = Callable[[], float]


class StorageBreaker:
    """Trips when storage posts make no progress for `stall_limit_s` seconds.

    Args:
        stall_limit_s: the longest time posts may be pending (in flight or waiting to retry) without
            any success or body progress.
        clock: a monotonic clock. It is read once per successful post, so it is `time.monotonic`
            (what asyncio's loop time is) rather than `anyio.current_time`, which looks up the running
            backend on every call; the watcher only sleeps for differences of it.
    """

    def __init__(self, stall_limit_s: float, *, clock: Clock = time.monotonic) -> None:
        self.stall_limit_s = stall_limit_s
        self._clock = clock
        self._pending = 0
        self._stalled_since: float | None = None
        self._last_error: BaseException | None = None
        self._activity = anyio.Event()
        self.successes = 0

    def begin(self) -> None:
        """A post starts (with its retries)."""
        self._pending += 1
        if self._stalled_since is None:
            self._stalled_since = self._clock()
            self._activity.set()

    def alive(self) -> None:
        """A post succeeded, or a streamed body made progress: the endpoint works."""
        if self._pending:
            self._stalled_since = self._clock()

    def succeeded(self) -> None:
        """A post succeeded."""
        self.successes += 1
        self.alive()

    def failed(self, exc: BaseException) -> None:
        """An attempt failed (it may be retried)."""
        self._last_error = exc

    def end(self) -> None:
        """A post is done, whatever its outcome."""
        self._pending -= 1
        if self._pending == 0:
            self._stalled_since = None

    def remaining_s(self) -> float | None:
        """Seconds until the breaker trips, or None while no post is pending."""
        if self._stalled_since is None:
            return None
        return self._stalled_since + self.stall_limit_s - self._clock()

    def error(self) -> UploadError:
        """The error that ends an upload whose storage endpoint stopped working."""
        last = "" if self._last_error is None else f"; last error: {self._last_error}"
        return UploadError(
            f"storage endpoint made no progress for {self.stall_limit_s:g} s (no upload succeeded); "
            f"giving up{last}",
            file_name="",
            is_retryable=False,
        )

    async def watch(self, on_trip: Callable[[UploadError], object]) -> None:
        """Call `on_trip` once the breaker trips (run it in the upload's task group; cancel it after)."""
        while True:
            remaining = self.remaining_s()
            if remaining is None:
                await self._activity.wait()
                self._activity = anyio.Event()
                continue
            if remaining <= 0:
                error = self.error()
                logger.error("%s", error)
                on_trip(error)
                return
            await anyio.sleep(remaining)


@attrs.define
class PersistentRetry:
    """Retries a storage post while its session lives and before the upload's deadline.

    Attributes:
        policy: the waits between attempts (`max_tries` and `max_time_s` are not used: the session's
            life, the deadline and the breaker bound the retries).
        breaker: the upload's breaker, told about every attempt.
        session_alive: whether the session still takes posts (open, not about to expire).
        deadline: an `anyio.current_time()` after which no retry starts; None: no deadline.
    """

    policy: RetryPolicy
    breaker: StorageBreaker
    session_alive: Callable[[], bool]
    deadline: float | None = None

    async def call(self, fn: Callable[[], Awaitable[T]], *, idempotent: bool, describe: str) -> T:
        """Await `fn()` until it succeeds, fails for good, or retrying is no longer allowed."""
        waits: Iterator[float] | None = None  # made on the first failure: most posts need none
        attempt = 1
        self.breaker.begin()
        try:
            while True:
                try:
                    result = await fn()
                except DeepsetCloudError as exc:
                    self.breaker.failed(exc)
                    if waits is None:
                        waits = self.policy.backoff_waits()
                    wait = self._wait_before_retry(exc, next(waits), idempotent=idempotent)
                    if wait is None:
                        raise
                    logger.info("%s failed (%s); retry %d in %.2f s", describe, exc, attempt, wait)
                    await anyio.sleep(wait)
                    attempt += 1
                else:
                    self.breaker.succeeded()
                    return result
        finally:
            self.breaker.end()

    def _wait_before_retry(
        self, exc: DeepsetCloudError, backoff_wait: float, *, idempotent: bool
    ) -> float | None:
        if not exc.is_retryable or not idempotent or not self.session_alive():
            return None
        wait = self.policy.wait_for(exc, backoff_wait)
        if wait is None:
            return None
        if self.deadline is not None and anyio.current_time() + wait > self.deadline:
            return None
        return wait
