"""The one retry policy: what is safe to retry, how long to wait, when to stop.

Waits come from `backoff`'s exponential generator with full jitter; a server's `Retry-After` wins. The
policy is applied around a whole request (never as decorators on endpoints). Non-idempotent requests
(`POST files`, `POST upload_sessions`) are retried only on `ConnectError`: the request provably never
reached the server, so a retry cannot create a duplicate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, Protocol, TypeVar

import anyio
import attrs
import backoff

from deepset_cloud.errors import ConnectError, DeepsetCloudError

__all__ = ["Retrier", "RetryPolicy", "should_retry"]

T = TypeVar("T")

logger = logging.getLogger("deepset_cloud")

Sleep = Callable[[float], Awaitable[object]]
Clock = Callable[[], float]


class Retrier(Protocol):
    """Anything that runs a call with retries: `RetryPolicy`, or the upload's persistent storage retry."""

    async def call(self, fn: Callable[[], Awaitable[T]], *, idempotent: bool, describe: str) -> T:
        """Await `fn()`, retrying it per the implementation's rules; return its first success."""
        ...


def should_retry(exc: BaseException, *, idempotent: bool) -> bool:
    """Return whether a failed call may be retried.

    Only our own exceptions are considered; `is_retryable` is set by the error class (transport errors,
    429, 5xx) or per instance. A non-idempotent call is retried only when the request never left.
    """
    if not isinstance(exc, DeepsetCloudError) or not exc.is_retryable:
        return False
    return idempotent or isinstance(exc, ConnectError)


def _retry_after(exc: BaseException) -> float | None:
    value = getattr(exc, "retry_after", None)
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    return None


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """How requests are retried: exponential backoff with full jitter, bounded in tries and time.

    Attributes:
        max_tries: attempts in total, including the first one (1 disables retries).
        max_time_s: no retry starts after this many seconds since the first attempt.
        base_delay_s: the first backoff ceiling; it doubles per retry (the actual wait is random below it).
        max_delay_s: the largest backoff ceiling.
        max_retry_after_s: the largest server-requested delay (`Retry-After`) that is honoured; a longer
            request ends the retries.
    """

    max_tries: int = attrs.field(default=5, validator=attrs.validators.ge(1))
    max_time_s: float = attrs.field(default=120.0, validator=attrs.validators.ge(0))
    base_delay_s: float = attrs.field(default=0.5, validator=attrs.validators.ge(0))
    max_delay_s: float = attrs.field(default=8.0, validator=attrs.validators.ge(0))
    max_retry_after_s: float = attrs.field(default=60.0, validator=attrs.validators.ge(0))

    def backoff_waits(self) -> Iterator[float]:
        """Yield the jittered backoff waits, one per retry (without any `Retry-After`)."""
        ceilings = backoff.expo(base=2, factor=self.base_delay_s, max_value=self.max_delay_s)
        next(ceilings)  # backoff's generators are primed with one send(None)
        for ceiling in ceilings:
            yield backoff.full_jitter(ceiling)

    def wait_for(self, exc: BaseException, backoff_wait: float) -> float | None:
        """Return how long to wait before the next try after `exc`, or None if the server's delay is too long."""
        server_delay = _retry_after(exc)
        if server_delay is None:
            return backoff_wait
        if server_delay > self.max_retry_after_s:
            return None
        # The server's delay wins; never retry earlier than it asked.
        return server_delay

    async def call(
        self,
        fn: Callable[[], Awaitable[T]],
        *,
        idempotent: bool,
        describe: str,
        sleep: Sleep = anyio.sleep,
        clock: Clock = time.monotonic,
    ) -> T:
        """Await `fn()` until it succeeds, fails with a non-retryable error, or the budget runs out.

        Args:
            fn: makes one attempt; called again for each retry.
            idempotent: whether repeating the request is harmless; if not, only `ConnectError` is retried.
            describe: what the call does, for the log (e.g. "GET files"); never contains credentials.
            sleep: the sleep function (tests inject one that takes no time).
            clock: a monotonic clock in seconds (tests inject one that follows the injected sleep).

        Returns:
            The result of the first successful attempt.

        Raises:
            DeepsetCloudError: the last error, once retrying is not allowed or not worth it anymore.
        """
        start = clock()
        waits = self.backoff_waits()
        attempt = 1
        while True:
            try:
                return await fn()
            except DeepsetCloudError as exc:
                if attempt >= self.max_tries or not should_retry(exc, idempotent=idempotent):
                    raise
                wait = self.wait_for(exc, next(waits))
                elapsed = clock() - start
                if wait is None or elapsed + wait > self.max_time_s:
                    raise
                logger.info(
                    "%s failed (%s: %s); retry %d of %d in %.2f s",
                    describe,
                    type(exc).__name__,
                    exc,
                    attempt,
                    self.max_tries - 1,
                    wait,
                )
                await sleep(wait)
                attempt += 1

    def with_changes(self, **changes: Any) -> RetryPolicy:
        """Return a copy with some fields changed (e.g. more tries in safe mode)."""
        return attrs.evolve(self, **changes)
