"""Paginators: a cursor over files (`after_value` + `after_file_id`) and page numbers over sessions.

Both yield whole pages and stop when the server says `has_more` is false or sends an empty page. A
`timeout_s` bounds the whole iteration: each page fetch runs under `anyio.fail_after` with the budget
that is left, and no cancel scope is held across a `yield` (the consumer's code between pages runs
outside any scope of ours; its time still counts against the budget).
"""

from __future__ import annotations

import functools
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import datetime
from typing import TypeVar
from uuid import UUID

import anyio

from deepset_cloud._http.api import DeepsetCloudAPI, Page
from deepset_cloud.errors import ConfigurationError, OperationTimeoutError, ResponseValidationError
from deepset_cloud.models import File, UploadSessionDetail

__all__ = ["iterate_file_pages", "iterate_session_pages"]

T = TypeVar("T")


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
        assert self._timeout_s is not None  # a deadline is only set from a timeout
        raise OperationTimeoutError(
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
    after: tuple[datetime, UUID] | None = None
    while True:
        page = await budget.run(
            functools.partial(
                api.list_files_page,
                workspace,
                limit=batch_size,
                name=name,
                content=content,
                odata_filter=odata_filter,
                after=after,
            )
        )
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
