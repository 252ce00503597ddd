"""The retry policy without a server: the decision table, the waits, the bounds. No wall time is spent."""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from deepset_cloud import RetryPolicy
from deepset_cloud._retry import should_retry
from deepset_cloud.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    DeepsetCloudError,
    NotFoundError,
    RateLimitError,
    RequestTimeout,
    ResponseValidationError,
    ServerError,
    TransportError,
    UploadError,
)

pytestmark = pytest.mark.anyio


def api(cls: type[APIError], status: int, **details: Any) -> APIError:
    return cls("boom", status_code=status, **details)


# (exception, retried when idempotent, retried when not idempotent)
DECISIONS: list[tuple[BaseException, bool, bool]] = [
    (ConnectError("refused"), True, True),
    (RequestTimeout("slow"), True, False),
    (TransportError("reset"), True, False),
    (api(ServerError, 500), True, False),
    (api(ServerError, 503, retry_after=1.0), True, False),
    (api(RateLimitError, 429), True, False),
    (APIError("timeout", status_code=408, is_retryable=True), True, False),
    (api(APIError, 418), False, False),
    (api(BadRequestError, 400), False, False),
    (api(AuthenticationError, 401), False, False),
    (api(NotFoundError, 404), False, False),
    (api(ConflictError, 409), False, False),
    (ResponseValidationError("bad body"), False, False),
    (ConfigurationError("no key"), False, False),
    (UploadError("s3 said no", file_name="a.txt"), False, False),
    (UploadError("s3 hiccup", file_name="a.txt", is_retryable=True), True, False),
    (ValueError("not ours"), False, False),
    (KeyboardInterrupt(), False, False),
]


@pytest.mark.parametrize(("exc", "idempotent_retry", "non_idempotent_retry"), DECISIONS)
def test_decision_table(exc: BaseException, idempotent_retry: bool, non_idempotent_retry: bool) -> None:
    assert should_retry(exc, idempotent=True) is idempotent_retry
    assert should_retry(exc, idempotent=False) is non_idempotent_retry


class FakeTime:
    """A clock that only moves when the fake sleep is awaited."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def failing(
    errors: list[BaseException], result: str = "ok"
) -> tuple[Callable[[], Awaitable[str]], list[int]]:
    calls = [0]

    async def attempt() -> str:
        calls[0] += 1
        if errors:
            raise errors.pop(0)
        return result

    return attempt, calls


async def test_retries_until_success_and_returns_the_result() -> None:
    time = FakeTime()
    attempt, calls = failing([api(ServerError, 502), ConnectError("x")])
    result = await RetryPolicy(max_tries=5).call(
        attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock
    )
    assert result == "ok"
    assert calls[0] == 3
    assert len(time.sleeps) == 2


async def test_non_retryable_error_is_raised_at_once() -> None:
    time = FakeTime()
    attempt, calls = failing([api(AuthenticationError, 401)])
    with pytest.raises(AuthenticationError):
        await RetryPolicy().call(
            attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock
        )
    assert calls[0] == 1
    assert time.sleeps == []


async def test_non_idempotent_call_is_retried_only_on_connect_errors() -> None:
    time = FakeTime()
    attempt, calls = failing([ConnectError("refused"), api(ServerError, 503)])
    with pytest.raises(ServerError):
        await RetryPolicy().call(
            attempt, idempotent=False, describe="POST files", sleep=time.sleep, clock=time.clock
        )
    assert calls[0] == 2  # the ConnectError was retried, the 503 (maybe processed) was not


async def test_attempts_are_bounded_and_the_last_error_is_raised() -> None:
    time = FakeTime()
    errors: list[BaseException] = [api(ServerError, 500 + i) for i in range(10)]
    attempt, calls = failing(errors)
    with pytest.raises(ServerError) as info:
        await RetryPolicy(max_tries=3).call(
            attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock
        )
    assert calls[0] == 3
    assert info.value.status_code == 502
    assert len(time.sleeps) == 2


async def test_total_time_is_bounded() -> None:
    time = FakeTime()
    errors: list[BaseException] = [ConnectError("x") for _ in range(100)]
    attempt, calls = failing(errors)
    policy = RetryPolicy(max_tries=100, max_time_s=10, base_delay_s=1, max_delay_s=4)
    with pytest.raises(ConnectError):
        await policy.call(attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock)
    assert time.now <= 10
    assert 1 < calls[0] < 100


async def test_retry_after_is_honoured_exactly() -> None:
    time = FakeTime()
    attempt, _ = failing([api(RateLimitError, 429, retry_after=7.5), api(ServerError, 503, retry_after=0.0)])
    policy = RetryPolicy(max_delay_s=1)
    await policy.call(attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock)
    assert time.sleeps == [7.5, 0.0]


async def test_too_long_retry_after_ends_the_retries() -> None:
    time = FakeTime()
    attempt, calls = failing([api(RateLimitError, 429, retry_after=3600.0)])
    with pytest.raises(RateLimitError):
        await RetryPolicy(max_retry_after_s=60).call(
            attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock
        )
    assert calls[0] == 1
    assert time.sleeps == []


async def test_retry_after_beyond_the_time_budget_ends_the_retries() -> None:
    time = FakeTime()
    attempt, calls = failing([api(ServerError, 503, retry_after=30.0)])
    with pytest.raises(ServerError):
        await RetryPolicy(max_time_s=10).call(
            attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock
        )
    assert calls[0] == 1


def test_wait_sequence_is_full_jitter_under_a_doubling_capped_ceiling() -> None:
    random.seed(1234)
    policy = RetryPolicy(base_delay_s=0.5, max_delay_s=4)
    waits = policy.backoff_waits()
    ceilings = [0.5, 1, 2, 4, 4, 4, 4, 4]
    drawn = [next(waits) for _ in ceilings]
    for wait, ceiling in zip(drawn, ceilings, strict=True):
        assert 0 <= wait <= ceiling
    # Full jitter spreads the waits: over many draws the mean of the first wait is about half its ceiling.
    firsts = [next(policy.backoff_waits()) for _ in range(2000)]
    assert 0.2 < sum(firsts) / len(firsts) < 0.3
    assert max(next(policy.backoff_waits()) for _ in range(2000)) <= 0.5


def test_policy_validates_its_fields_and_can_be_changed() -> None:
    with pytest.raises(ValueError):
        RetryPolicy(max_tries=0)
    safe = RetryPolicy().with_changes(max_tries=10)
    assert safe.max_tries == 10
    assert RetryPolicy().max_tries == 5


async def test_single_try_policy_never_sleeps() -> None:
    time = FakeTime()
    attempt, calls = failing([ConnectError("x")])
    with pytest.raises(ConnectError):
        await RetryPolicy(max_tries=1).call(
            attempt, idempotent=True, describe="GET x", sleep=time.sleep, clock=time.clock
        )
    assert (calls[0], time.sleeps) == (1, [])


def test_errors_are_ours() -> None:
    assert all(isinstance(exc, DeepsetCloudError) for exc, *_ in DECISIONS[:-2])
