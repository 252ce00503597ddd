"""Paginators: a cursor over files (`after_value` + `after_file_id`) and page numbers over sessions.

Both yield whole pages and stop when the server says `has_more` is false or sends an empty page. A
`timeout_s` bounds the whole iteration: each page fetch runs under `anyio.fail_after` with the budget
that is left, and no cancel scope is held across a `yield` (the consumer's code between pages runs
outside any scope of ours; its time still counts against the budget).

The file paginator sends the request for the next page as soon as it has read the cursor from the decoded
JSON of the current one, then structures the current page and hands it over: the round trip overlaps
the structuring and the consumer's work. At most one request runs ahead (one page in memory beyond the
consumer's); it is cancelled, and waited for, when the consumer stops iterating or an error ends the
iteration.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any, TypeVar
from uuid import UUID

import anyio

from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.pages import Page, file_page_cursor, structure_file_page
from deepset_cloud.errors import ConfigurationError, OperationTimeoutError, ResponseValidationError
from deepset_cloud.models import File, UploadSessionDetail

__all__ = ["iterate_file_pages", "iterate_session_pages"]

T = TypeVar("T")

_CANCEL_GRACE_S = 5.0  # a cancelled request unwinds at once; this only bounds a misbehaving one


class _Budget:
    """The time left of a `timeout_s` that spans several awaits."""

    def __init__(self, timeout_s: float | None, what: str) -> None:
        self._deadline = None if timeout_s is None else anyio.current_time() + timeout_s
        self._timeout_s = timeout_s
        self._what = what

    async def run(self, fetch: Callable[[], Awaitable[T]]) -> T:
        if self._deadline is None:
            return await fetch()
        remaining = self._deadline - anyio.current_time()
        if remaining > 0:
            with anyio.move_on_after(remaining) as scope:
                return await fetch()
            assert scope.cancelled_caught
        raise self._spent()

    def check(self) -> None:
        """Raise if the time is up (e.g. before handing over a page fetched ahead)."""
        if self._deadline is not None and anyio.current_time() >= self._deadline:
            raise self._spent()

    def _spent(self) -> OperationTimeoutError:
        assert self._timeout_s is not None  # a deadline is only set from a timeout
        return OperationTimeoutError(
            f"{self._what} did not finish within timeout_s={self._timeout_s:g} s", timeout_s=self._timeout_s
        )


def _check_batch_size(batch_size: object) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise ConfigurationError(f"batch_size must be a positive integer, got {batch_size!r}.")


async def iterate_file_pages(
    api: DeepsetCloudAPI,
    workspace: str,
    *,
    name: str | None = None,
    content: str | None = None,
    odata_filter: str | None = None,
    batch_size: int = 100,
    timeout_s: float | None = None,
) -> AsyncGenerator[Page[File], None]:
    """Yield every page of files of `workspace` matching the filters, following the cursor.

    Args:
        api: the endpoint layer.
        workspace: the workspace to list.
        name: substring filter on file names.
        content: full-text filter (older servers only).
        odata_filter: OData filter on file metadata.
        batch_size: files per page.
        timeout_s: bound on the whole iteration (None = unbounded).

    Raises:
        OperationTimeoutError: the iteration took longer than `timeout_s`.
    """
    _check_batch_size(batch_size)
    budget = _Budget(timeout_s, f"listing the files of {workspace!r}")

    def fetch(after: tuple[datetime, UUID] | None) -> Coroutine[Any, Any, Any]:
        return budget.run(
            functools.partial(
                api.fetch_files_page,
                workspace,
                limit=batch_size,
                name=name,
                content=content,
                odata_filter=odata_filter,
                after=after,
            )
        )

    after: tuple[datetime, UUID] | None = None
    data = await fetch(None)
    ahead: asyncio.Task[Any] | None = None
    try:
        while True:
            cursor = file_page_cursor(data)
            if cursor is not None and cursor != after:
                # The next request goes out now (one loop turn puts it on the wire, else the task would
                # start only when this one next waits); this page is structured and consumed meanwhile.
                ahead = asyncio.create_task(fetch(cursor))
                await asyncio.sleep(0)
            page = structure_file_page(data)
            if not page.data:
                return
            yield page
            if not page.has_more:
                return
            last = page.data[-1]
            if after == (last.created_at, last.file_id):
                # A server that ignores the cursor would otherwise make this loop forever.
                raise ResponseValidationError(
                    f"listing the files of {workspace!r}: the server sent the same page twice (cursor ignored)"
                )
            after = (last.created_at, last.file_id)
            if ahead is not None and cursor != after:  # both come from the same item: a safety net
                await _cancel(ahead)
                ahead = None
            if ahead is None:  # the page's cursor could not be read before structuring it
                data = await fetch(after)
            else:
                budget.check()  # time is up even if the page ahead has arrived, as if it were fetched now
                data = await ahead
                ahead = None
    finally:
        if ahead is not None:
            await _cancel(ahead)


async def _cancel(task: asyncio.Task[Any]) -> None:
    """Cancel a request sent ahead that nobody will read, and wait until it is gone."""
    task.cancel()
    with anyio.move_on_after(_CANCEL_GRACE_S, shield=True):
        await asyncio.wait([task])
    if task.done() and not task.cancelled():
        task.exception()  # retrieved: an error of a page nobody asked for is not logged as unhandled


async def iterate_session_pages(
    api: DeepsetCloudAPI,
    workspace: str,
    *,
    is_expired: bool | None = None,
    batch_size: int = 100,
    timeout_s: float | None = None,
) -> AsyncGenerator[Page[UploadSessionDetail], None]:
    """Yield every page of upload sessions of `workspace`, by page number starting at 1.

    Raises:
        OperationTimeoutError: the iteration took longer than `timeout_s`.
    """
    _check_batch_size(batch_size)
    budget = _Budget(timeout_s, f"listing the upload sessions of {workspace!r}")
    page_number = 1
    while True:
        page = await budget.run(
            functools.partial(
                api.list_upload_sessions_page,
                workspace,
                page_number=page_number,
                limit=batch_size,
                is_expired=is_expired,
            )
        )
        if not page.data:
            return
        yield page
        if not page.has_more:
            return
        page_number += 1
