"""The same sync views under ASGI: Django runs them in worker threads, which call the sync facade.

`django.test.AsyncClient` runs every sync view in asgiref's one shared thread-sensitive executor, so
concurrent requests interleave on the event loop but their views take turns. The real ASGI application
(`get_asgi_application()`, as served by uvicorn) gives each request its own `ThreadSensitiveContext`, so
there the views really run in parallel threads; the rendezvous middleware proves it.

No `SyncInAsyncContextWarning` may appear: the worker threads have no running event loop.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import pytest
from django.test import AsyncClient

from deepset_cloud.errors import SyncInAsyncContextWarning
from deepset_cloud.sync_client import files as deepset_files

from .asgi_driver import ASGIApp, ASGIResponse, asgi_request
from .files_app.rendezvous import HEADER, rendezvous
from .scenario import (
    DIRECT_COUNT,
    LIST_PATH,
    NEWS_FILTER,
    SESSION_COUNT,
    UPLOAD_PATH,
    direct_report,
    listed,
    listing,
    make_texts,
    session_report,
)

pytestmark = pytest.mark.anyio


@contextmanager
def no_warnings() -> Iterator[None]:
    """Fail if any warning is issued in the block, from any thread (the filters are process-wide)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    # A SyncInAsyncContextWarning here would mean the facade saw a running loop in a view's worker thread.
    assert [f"{warning.category.__name__}: {warning.message}" for warning in caught] == []


async def _upload(client: Any, texts: list[dict[str, Any]]) -> Any:
    return await client.post(UPLOAD_PATH, {"files": texts}, content_type="application/json")


async def _list(client: Any, **query: str) -> Any:
    response = await client.get(LIST_PATH, query)
    assert response.status_code == 200, response.content
    return response.json()


async def test_async_client_uploads_and_lists(async_client: Any) -> None:
    direct, session = make_texts("direct", DIRECT_COUNT), make_texts("session", SESSION_COUNT)

    with no_warnings():
        direct_response = await _upload(async_client, direct)
        session_response = await _upload(async_client, session)
        everything = await _list(async_client, batch_size="10")
        news = await _list(async_client, odata_filter=NEWS_FILTER)
        first_three = await _list(async_client, batch_size="2", limit="3")  # leaves the iterator early

    assert direct_response.status_code == 200, direct_response.content
    assert direct_response.json() == direct_report(DIRECT_COUNT)
    assert session_response.status_code == 200, session_response.content
    assert session_response.json() == session_report(SESSION_COUNT)
    assert listed(everything) == listing(direct + session)
    assert listed(news) == listing(direct + session, category="news")
    assert first_three["count"] == 3
    assert all(item in listing(direct + session) for item in listed(first_three))


async def test_async_client_concurrent_requests(async_client: Any) -> None:
    batches = [make_texts(f"task{index}", 2 + index) for index in range(4)]
    session = make_texts("session", SESSION_COUNT)
    uploads: dict[str, Any] = {}
    lists: dict[str, Any] = {}

    async def upload(key: str, texts: list[dict[str, Any]]) -> None:
        uploads[key] = await _upload(AsyncClient(), texts)

    async def list_files(key: str, query: dict[str, str]) -> None:
        lists[key] = await _list(AsyncClient(), **query)

    with no_warnings():
        async with anyio.create_task_group() as tg:
            for index, texts in enumerate(batches):
                tg.start_soon(upload, f"task{index}", texts)
            tg.start_soon(upload, "session", session)
        async with anyio.create_task_group() as tg:
            tg.start_soon(list_files, "all", {})
            tg.start_soon(list_files, "paged", {"batch_size": "7"})
            tg.start_soon(list_files, "news", {"odata_filter": NEWS_FILTER})
            tg.start_soon(list_files, "task2", {"name": "task2-"})

    for index, texts in enumerate(batches):
        assert uploads[f"task{index}"].json() == direct_report(len(texts))
    assert uploads["session"].json() == session_report(SESSION_COUNT)
    everything = [text for texts in batches for text in texts] + session
    assert listed(lists["all"]) == listing(everything)
    assert listed(lists["paged"]) == listing(everything)
    assert listed(lists["news"]) == listing(everything, category="news")
    assert listed(lists["task2"]) == listing(batches[2])


async def test_asgi_application_runs_sync_views_in_parallel(asgi_app: ASGIApp) -> None:
    batches = [make_texts(f"asgi{index}", 2 + index) for index in range(3)]
    session = make_texts("session", SESSION_COUNT)
    listers = 2
    rendezvous_header = [(HEADER, "1")]
    uploads: dict[str, ASGIResponse] = {}
    lists: list[ASGIResponse] = []

    async def upload(key: str, texts: list[dict[str, Any]]) -> None:
        uploads[key] = await asgi_request(
            asgi_app, "POST", UPLOAD_PATH, json_body={"files": texts}, headers=rendezvous_header
        )

    async def list_files() -> None:
        lists.append(await asgi_request(asgi_app, "GET", LIST_PATH, headers=rendezvous_header))

    with no_warnings(), rendezvous(len(batches) + 1 + listers):
        async with anyio.create_task_group() as tg:
            for index, texts in enumerate(batches):
                tg.start_soon(upload, f"asgi{index}", texts)
            tg.start_soon(upload, "session", session)
            for _ in range(listers):
                tg.start_soon(list_files)

    for index, texts in enumerate(batches):
        assert uploads[f"asgi{index}"].status == 200, uploads[f"asgi{index}"].body
        assert uploads[f"asgi{index}"].json() == direct_report(len(texts))
    assert uploads["session"].status == 200, uploads["session"].body
    assert uploads["session"].json() == session_report(SESSION_COUNT)
    assert [response.status for response in lists] == [200] * listers
    everything = [text for texts in batches for text in texts] + session
    with no_warnings():
        final = await asgi_request(asgi_app, "GET", LIST_PATH, query={"odata_filter": NEWS_FILTER})
    assert final.status == 200, final.body
    assert listed(final.json()) == listing(everything, category="news")


async def test_control_facade_called_on_the_event_loop_warns(deepset_env: str) -> None:
    # The counterpart of the checks above: the same facade called straight from a coroutine (a thread
    # with a running loop) is expected to warn, so `no_warnings` above would have seen it.
    with pytest.warns(SyncInAsyncContextWarning):
        pages = list(deepset_files.list_files())
    assert pages in ([], [[]])
