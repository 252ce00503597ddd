"""The shared answer deadlines of storage posts, as pure logic on the event loop (no server)."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from deepset_cloud._http.storage import AnswerDeadlines

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not AnswerDeadlines.available, reason="needs Task.uncancel (Python 3.11)"),
]


async def wait_under(deadlines: AnswerDeadlines, until: asyncio.Future[None]) -> str:
    """What a post does: wait under a deadline, and tell a timeout from any other cancellation."""
    task = asyncio.current_task()
    assert task is not None
    waiting = deadlines.enter(task)
    try:
        await until
    except asyncio.CancelledError:
        if deadlines.timed_out(task):
            return "timed out"
        raise
    finally:
        waiting.discard(task)
    return "answered"


async def test_an_unanswered_wait_times_out_and_an_answered_one_does_not() -> None:
    deadlines = AnswerDeadlines(0.05)
    loop = asyncio.get_running_loop()
    answered, unanswered = loop.create_future(), loop.create_future()
    loop.call_later(0.01, answered.set_result, None)

    results = await asyncio.gather(wait_under(deadlines, answered), wait_under(deadlines, unanswered))

    assert list(results) == ["answered", "timed out"]
    assert not deadlines._waiting


async def test_a_cancellation_that_meets_the_deadline_is_not_swallowed() -> None:
    deadlines = AnswerDeadlines(0.05)
    loop = asyncio.get_running_loop()
    never = loop.create_future()
    task = loop.create_task(wait_under(deadlines, never))
    await asyncio.sleep(0)  # the wait has started
    deadlines._expire(deadlines._waiting)  # the deadline passes ...
    task.cancel()  # ... just as the caller cancels: the caller's cancellation wins

    with pytest.raises(asyncio.CancelledError):
        await task


async def test_an_anyio_cancel_scope_still_cancels_a_waiting_post() -> None:
    deadlines = AnswerDeadlines(60.0)
    never = asyncio.get_running_loop().create_future()

    with anyio.move_on_after(0.02) as scope:
        await wait_under(deadlines, never)

    assert scope.cancelled_caught
    assert not deadlines._waiting
