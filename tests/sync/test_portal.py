"""The sync runtime (`deepset_cloud._portal`) over small coroutines and generators of our own."""

from __future__ import annotations

import asyncio
import builtins
import gc
import threading
import warnings
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor

import anyio
import pytest

from deepset_cloud import _portal
from deepset_cloud._portal import bridges
from deepset_cloud.errors import SyncFacadeError, SyncInAsyncContextWarning
from tests.support import wait_until


async def where() -> tuple[str, int]:
    """Return the name of the thread and the id of the loop this coroutine runs on."""
    return threading.current_thread().name, id(asyncio.get_running_loop())


async def double(value: int, *, offset: int = 0) -> int:
    await anyio.sleep(0)
    return 2 * value + offset


async def fail(message: str) -> None:
    raise ValueError(message)


def test_run_hops_to_one_long_lived_loop_thread() -> None:
    first = _portal.run(where)
    second = _portal.run(where)
    assert first[0] == _portal.THREAD_NAME
    assert first[0] != threading.current_thread().name
    assert first == second  # the same loop serves every call


def test_run_passes_positional_and_keyword_arguments() -> None:
    assert _portal.run(double, 4, offset=1) == 9


def test_run_reraises_the_coroutine_error() -> None:
    with pytest.raises(ValueError, match="broken on purpose"):
        _portal.run(fail, "broken on purpose")
    assert _portal.run(double, 1) == 2  # the loop survived


def test_base_exception_in_a_coroutine_reaches_the_caller_and_spares_the_loop() -> None:
    async def exit_inside() -> None:
        raise SystemExit(3)

    loop_before = _portal.run(where)
    with pytest.raises(SystemExit):
        _portal.run(exit_inside)
    assert _portal.run(where) == loop_before


def test_contextvars_of_the_caller_are_visible_in_the_coroutine() -> None:
    import contextvars

    request_id: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="none")

    async def read() -> str:
        return request_id.get()

    token = request_id.set("abc")
    try:
        assert _portal.run(read) == "abc"
    finally:
        request_id.reset(token)


@pytest.mark.anyio
async def test_a_call_from_a_thread_with_a_running_loop_works_and_warns_once_per_call_site() -> None:
    results = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for value in range(3):
            results.append(_portal.run(double, value))  # one call site, three calls
    assert results == [0, 2, 4]
    assert [warning.category for warning in caught] == [SyncInAsyncContextWarning]
    assert caught[0].filename == __file__  # points at the user's line, not at the runtime


@pytest.mark.anyio
async def test_generators_warn_at_the_users_call_site_too() -> None:
    async def numbers() -> AsyncIterator[int]:
        yield 1

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert list(_portal.iterate(numbers)) == [1]
    assert [warning.filename for warning in caught] == [__file__]


@pytest.mark.anyio
async def test_no_warning_under_ipython(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(builtins, "__IPYTHON__", True, raising=False)
    assert _portal.run(double, 5) == 10  # filterwarnings=error would turn a warning into a failure


def test_a_call_from_the_loop_thread_raises_instead_of_deadlocking() -> None:
    async def nested() -> int:
        return _portal.run(double, 1)

    async def nested_iteration() -> list[int]:
        async def numbers() -> AsyncIterator[int]:
            yield 1

        return list(_portal.iterate(numbers))

    with pytest.raises(SyncFacadeError, match="inside the SDK's own event loop"):
        _portal.run(nested)
    with pytest.raises(SyncFacadeError, match="inside the SDK's own event loop"):
        _portal.run(nested_iteration)


def test_sixteen_threads_share_the_one_loop() -> None:
    def work(worker: int) -> list[tuple[int, tuple[str, int]]]:
        return [(_portal.run(double, worker * 100 + i), _portal.run(where)) for i in range(25)]

    with ThreadPoolExecutor(max_workers=16) as pool:
        per_worker = list(pool.map(work, range(16)))
    loops = {place for results in per_worker for _, place in results}
    assert len(loops) == 1
    for worker, results in enumerate(per_worker):
        assert [value for value, _ in results] == [2 * (worker * 100 + i) for i in range(25)]


# -- generators -------------------------------------------------------------------------------------------


def test_iterate_yields_every_item_in_order_from_one_task() -> None:
    tasks: set[int] = set()

    async def numbers(count: int) -> AsyncGenerator[int, None]:
        for value in range(count):
            tasks.add(id(asyncio.current_task()))
            yield value

    assert list(_portal.iterate(numbers, 50)) == list(range(50))
    assert len(tasks) == 1  # the generator never changed tasks between items


def test_iterate_reraises_the_generators_error_after_the_items_before_it() -> None:
    async def broken() -> AsyncGenerator[int, None]:
        yield 1
        yield 2
        raise ValueError("page 3 failed")

    pages = _portal.iterate(broken)
    assert [next(pages), next(pages)] == [1, 2]
    with pytest.raises(ValueError, match="page 3 failed"):
        next(pages)


def test_a_batch_carries_every_item_that_is_ready(monkeypatch: pytest.MonkeyPatch) -> None:
    attempted: list[int] = []
    hops = 0
    original = bridges._Pump.next_batch

    async def counting(self: bridges._Pump[int]) -> list[int] | None:
        nonlocal hops
        hops += 1
        return await original(self)

    monkeypatch.setattr(bridges._Pump, "next_batch", counting)

    async def numbers(count: int) -> AsyncGenerator[int, None]:
        for value in range(count):
            attempted.append(value)
            yield value

    count = 20
    received: list[int] = []
    for item in _portal.iterate(numbers, count):
        received.append(item)
        # Let the producer fill the buffer and block on the next item before asking again.
        wait_until(lambda: len(attempted) >= min(count, len(received) + 1 + _portal.ITERATE_BUFFER))
    assert received == list(range(count))
    per_hop = _portal.ITERATE_BUFFER + 1
    assert hops <= 1 + -(-count // per_hop) + 1  # first item alone, then full batches, then the end


def test_break_closes_the_generator_in_its_own_task() -> None:
    events: list[str] = []
    producer_task: list[int] = []

    async def pages() -> AsyncGenerator[int, None]:
        producer_task.append(id(asyncio.current_task()))
        try:
            for value in range(1000):
                yield value
        finally:
            events.append("finally")
            events.append("same task" if id(asyncio.current_task()) == producer_task[0] else "other task")

    for item in _portal.iterate(pages):
        if item == 3:
            break
    assert events == ["finally", "same task"]  # ran (and finished) before the loop statement ended


def test_close_and_garbage_collection_close_the_generator() -> None:
    closed: list[str] = []

    async def pages(label: str) -> AsyncGenerator[int, None]:
        try:
            while True:
                yield 1
        finally:
            await anyio.sleep(0)  # cleanup may await: it runs in the owning task, not cancelled
            closed.append(label)

    explicit = _portal.iterate(pages, "close")
    next(explicit)
    explicit.close()
    assert closed == ["close"]

    dropped = _portal.iterate(pages, "gc")
    next(dropped)
    del dropped
    assert closed == ["close", "gc"]


async def _anyio_timeout_pages() -> AsyncGenerator[int, None]:
    with anyio.fail_after(0.2):
        yield 1
        await anyio.sleep(30)
        yield 2


async def _asyncio_timeout_pages() -> AsyncGenerator[int, None]:
    async with asyncio.timeout(0.2):  # type: ignore[attr-defined,unused-ignore]  # Python 3.11+
        yield 1
        await asyncio.sleep(30)
        yield 2


TIMEOUT_FLAVOURS = [_anyio_timeout_pages] + ([_asyncio_timeout_pages] if hasattr(asyncio, "timeout") else [])


@pytest.mark.parametrize("pages_with_timeout", TIMEOUT_FLAVOURS)
def test_a_timeout_inside_a_generator_still_fires(
    pages_with_timeout: Callable[[], AsyncIterator[int]],
) -> None:
    pages = _portal.iterate(pages_with_timeout)
    assert next(pages) == 1
    with pytest.raises(TimeoutError):
        next(pages)


# -- twins -----------------------------------------------------------------------------


class _Resource:
    def __init__(self, name: str, *, size: int = 1) -> None:
        self.name = name
        self.size = size
        self.closed = 0

    def __repr__(self) -> str:
        return f"_Resource(name={self.name!r})"

    async def aclose(self) -> None:
        await anyio.sleep(0)
        self.closed += 1


def test_twin_builds_at_once_closes_once_and_renames_its_repr() -> None:
    twin = _portal.AsyncTwin(_Resource, "r", size=3)
    resource = twin.get()
    assert (resource.name, resource.size) == ("r", 3)
    assert twin.get() is resource
    twin.close()
    twin.close()
    assert resource.closed == 1
    assert twin.repr_as("Resource") == "Resource(name='r')"


def test_a_twin_dropped_without_close_is_closed_on_the_loop() -> None:
    twin = _portal.AsyncTwin(_Resource, "dropped")
    resource = twin.get()
    _portal.run(resource.aclose)  # the loop is running and the resource was used on it
    del twin
    gc.collect()
    wait_until(lambda: resource.closed == 2)


def test_twin_construction_errors_surface_at_once() -> None:
    def refuse() -> _Resource:
        raise SyncFacadeError("bad settings")

    with pytest.raises(SyncFacadeError, match="bad settings"):
        _portal.AsyncTwin(refuse)
