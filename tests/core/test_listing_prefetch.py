"""The file paginator sends the next page's request before the caller asks for it, and cleans up after it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, Client, DeepsetCloudFile, RetryPolicy
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import AuthenticationError, OperationTimeoutError
from tests.fake_server import FakeServer, json_response
from tests.support import poll_until, wait_until

pytestmark = pytest.mark.anyio

_START = datetime(2024, 2, 3, 7, 58, 54, 730474, tzinfo=timezone.utc)


def item(index: int) -> dict[str, Any]:
    file_id = str(uuid.UUID(int=index + 1))
    return {
        "file_id": file_id,
        "url": f"/api/v1/workspaces/ws/files/{file_id}",
        "name": f"f{index}.txt",
        "size": index,
        "created_at": (_START + timedelta(seconds=index)).isoformat().replace("+00:00", "Z"),
        "meta": {"i": index},
    }


class Pages:
    """Serves `count` files in pages of `limit` by the cursor; `hold` makes requests after the first wait."""

    def __init__(self, count: int) -> None:
        self.items = [item(index) for index in range(count)]
        self.release = asyncio.Event()
        self.hold = False
        self.fail_after_first = False

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        limit = int(request.query["limit"])
        start = 0
        if "after_file_id" in request.query:
            start = 1 + next(
                i for i, x in enumerate(self.items) if x["file_id"] == request.query["after_file_id"]
            )
            if self.fail_after_first:
                return json_response({"errors": ["bad key"]}, status=401)
            if self.hold:
                await self.release.wait()
        page = self.items[start : start + limit]
        return json_response(
            {"total": len(self.items), "has_more": start + limit < len(self.items), "data": page}
        )


def ahead_tasks() -> list[asyncio.Task[Any]]:
    """The paginator's requests running ahead (tasks of `_Budget.run`) that are not finished."""
    return [
        task
        for task in asyncio.all_tasks()
        if not task.done() and getattr(task.get_coro(), "__qualname__", "") == "_Budget.run"
    ]


async def test_the_next_request_is_sent_before_the_caller_asks_for_it() -> None:
    pages = Pages(5)
    async with FakeServer(pages) as server, AsyncClient("k", server.api_url, "ws") as client:
        listing = client.list_files(batch_size=2)
        first = await listing.__anext__()
        assert [file.name for file in first] == ["f0.txt", "f1.txt"]
        # The caller has not asked for page 2 yet, and the server has its request already.
        await poll_until(lambda: _true(len(server.requests) == 2), what="the request for page 2")
        rest = [file.name async for page in listing for file in page]
    assert rest == ["f2.txt", "f3.txt", "f4.txt"]
    assert len(server.requests) == 3  # no request past the last page
    second = server.requests[1].query
    assert second["after_value"] == "2024-02-03T07:58:55.730474+00:00"  # isoformat() of an aware datetime
    assert second["after_file_id"] == pages.items[1]["file_id"]


async def test_the_next_request_is_on_the_wire_before_the_page_is_handed_over(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    async with AsyncClient(deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace) as client:
        texts = [DeepsetCloudFile(text=str(index), name=f"f{index}.txt") for index in range(5)]
        await client.upload_texts(texts, show_progress=False)
        before = deepset_emulator.stats()["requests"].get("list_files", 0)
        listing = client.list_files(batch_size=2)
        await listing.__anext__()
        # This loop is not given back from here on: only a request already sent reaches the emulator (whose
        # loop runs in its own thread).
        wait_until(
            lambda: deepset_emulator.stats()["requests"].get("list_files", 0) == before + 2,
            what="the request for page 2 to arrive",
        )
        await listing.aclose()


@pytest.mark.parametrize("close", ["aclosing", "break"])
async def test_stopping_early_cancels_the_request_running_ahead(close: str) -> None:
    pages = Pages(6)
    pages.hold = True  # page 2 never comes
    async with FakeServer(pages) as server, AsyncClient("k", server.api_url, "ws") as client:
        if close == "aclosing":
            async with contextlib.aclosing(client.list_files(batch_size=2)) as listing:
                await listing.__anext__()
                await poll_until(lambda: _true(len(server.requests) == 2), what="the request for page 2")
                assert len(ahead_tasks()) == 1
            assert ahead_tasks() == []  # cancelled and waited for when the generator closed
        else:
            async for page in client.list_files(batch_size=2):
                assert len(page) == 2
                await poll_until(lambda: _true(len(server.requests) == 2), what="the request for page 2")
                assert len(ahead_tasks()) == 1
                break
            # Python closes an abandoned async generator from the loop's finalizer hook, soon after.
            await poll_until(lambda: _true(ahead_tasks() == []), what="the request ahead to be cancelled")
        held = server.requests[1]
        await poll_until(
            lambda: _true(held.transport is None or held.transport.is_closing()),
            what="the held request's connection to close",
        )
        assert len(server.requests) == 2
        pages.release.set()


async def test_an_error_of_a_page_nobody_asked_for_is_retrieved_not_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pages = Pages(6)
    pages.fail_after_first = True
    caplog.set_level(logging.ERROR, logger="asyncio")
    async with FakeServer(pages) as server, AsyncClient("k", server.api_url, "ws") as client:
        listing = client.list_files(batch_size=2)
        await listing.__anext__()
        await poll_until(lambda: _true(ahead_tasks() == []), what="the request ahead to fail")
        await listing.aclose()
        assert len(server.requests) == 2
    gc.collect()
    assert "never retrieved" not in caplog.text


async def test_an_error_of_the_next_page_reaches_the_caller_after_the_pages_before_it() -> None:
    pages = Pages(6)
    pages.fail_after_first = True
    received: list[int] = []
    async with FakeServer(pages) as server, AsyncClient("k", server.api_url, "ws") as client:
        listing = client.list_files(batch_size=2)
        received.append(len(await listing.__anext__()))
        with pytest.raises(AuthenticationError):
            await listing.__anext__()
    assert received == [2]
    assert len(server.requests) == 2


async def test_a_page_fetched_ahead_is_not_handed_over_after_the_timeout() -> None:
    pages = Pages(6)
    async with FakeServer(pages) as server, AsyncClient("k", server.api_url, "ws") as client:
        started = anyio.current_time()
        listing = client.list_files(batch_size=2, timeout_s=0.5)
        await listing.__anext__()
        await poll_until(lambda: _true(len(server.requests) == 2 and ahead_tasks() == []), what="page 2")
        # The caller takes its time with page 1 (the subject of this test, not a synchronisation).
        await poll_until(lambda: _true(anyio.current_time() > started + 0.5), what="the deadline")
        with pytest.raises(OperationTimeoutError, match=r"timeout_s=0\.5"):
            await listing.__anext__()
    assert len(server.requests) == 2


async def test_a_page_without_a_readable_cursor_is_fetched_after_structuring(
    fast_retry: RetryPolicy,
) -> None:
    # A cursor in another (still valid) form: read only from the structured page, the next page follows.
    odd = [dict(item(index), created_at=f"2024-02-03 07:58:{54 + index}+0000") for index in range(3)]

    async def handler(request: web.Request) -> web.StreamResponse:
        start = 0 if "after_file_id" not in request.query else 2
        return json_response({"total": 3, "has_more": start == 0, "data": odd[start : start + 2]})

    async with (
        FakeServer(handler) as server,
        AsyncClient("k", server.api_url, "ws", retry=fast_retry) as client,
    ):
        names = [file.name async for page in client.list_files(batch_size=2) for file in page]
    assert names == ["f0.txt", "f1.txt", "f2.txt"]
    assert server.requests[1].query["after_value"] == "2024-02-03T07:58:55+00:00"


def test_sync_listing_stopped_early_leaves_no_request_running() -> None:
    pages = Pages(8)
    pages.hold = True

    async def serve_and_list() -> int:
        async with FakeServer(pages) as server:

            def consume() -> int:
                with Client("k", server.api_url, "ws") as client:
                    for page in client.list_files(batch_size=2):
                        return len(page)
                return 0

            count = await anyio.to_thread.run_sync(consume)
            held = server.requests[-1]
            await poll_until(
                lambda: _true(held.transport is None or held.transport.is_closing()),
                what="the held request's connection to close",
            )
            pages.release.set()
            return count

    assert anyio.run(serve_and_list) == 2


async def _true(value: bool) -> bool:
    return value
