"""The persistent storage retry and the breaker, as pure logic on anyio's clock (no server)."""

from __future__ import annotations

import anyio
import pytest

from deepset_cloud._retry import RetryPolicy
from deepset_cloud._upload.resilience import PersistentRetry, StorageBreaker
from deepset_cloud.errors import UploadError

pytestmark = pytest.mark.anyio

QUICK = RetryPolicy(max_tries=1, base_delay_s=0.001, max_delay_s=0.002)


def transient() -> UploadError:
    return UploadError("storage upload of 'a.txt' failed: HTTP 503", file_name="a.txt", is_retryable=True)


async def test_retries_go_on_past_max_tries_while_the_session_lives() -> None:
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 12:
            raise transient()
        return "stored"

    retry = PersistentRetry(QUICK, StorageBreaker(60), session_alive=lambda: True)
    assert await retry.call(flaky, idempotent=True, describe="post") == "stored"
    assert calls == 12


async def test_a_session_that_no_longer_takes_posts_ends_the_retries() -> None:
    alive = [True, True, False]
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise transient()

    retry = PersistentRetry(QUICK, StorageBreaker(60), session_alive=lambda: alive.pop(0))
    with pytest.raises(UploadError):
        await retry.call(failing, idempotent=True, describe="post")
    assert calls == 3


async def test_a_passed_deadline_and_a_permanent_error_end_the_retries_at_once() -> None:
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        raise transient()

    past = PersistentRetry(
        QUICK, StorageBreaker(60), session_alive=lambda: True, deadline=anyio.current_time()
    )
    with pytest.raises(UploadError):
        await past.call(failing, idempotent=True, describe="post")
    assert calls == 1

    async def refused() -> None:
        raise UploadError("HTTP 403 AccessDenied", file_name="a.txt", is_retryable=False)

    with pytest.raises(UploadError, match="AccessDenied"):
        await PersistentRetry(QUICK, StorageBreaker(60), session_alive=lambda: True).call(
            refused, idempotent=True, describe="post"
        )


async def test_the_breaker_trips_only_while_posts_are_pending_without_progress() -> None:
    breaker = StorageBreaker(0.05)
    tripped: list[UploadError] = []
    assert breaker.remaining_s() is None  # idle: no clock runs
    async with anyio.create_task_group() as group:
        group.start_soon(breaker.watch, tripped.append)
        breaker.begin()
        breaker.succeeded()
        breaker.end()
        assert breaker.remaining_s() is None
        breaker.begin()
        breaker.failed(transient())
        with anyio.fail_after(10):
            while not tripped:
                await anyio.sleep(0.01)
    assert "no progress for 0.05 s" in str(tripped[0])
    assert "HTTP 503" in str(tripped[0])
