"""The direct path: small uploads go through `POST files`, one request per file.

Files are listed as soon as the request returns, so there is nothing to wait for afterwards. The API
layer retries a direct upload only when the request provably never reached the server, so no retry can
create a duplicate file. When the request was sent but its answer was lost, the file may be stored: the
workspace is asked for a file of that name created since the attempt began (with a few seconds of
tolerance for clock skew) before the upload is tried again or reported failed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import anyio
import attrs

from deepset_cloud._progress import ProgressBar
from deepset_cloud._upload.options import UploadAPI, UploadTally, logger
from deepset_cloud.errors import (
    APIError,
    AuthenticationError,
    ConnectError,
    DeepsetCloudError,
    NotFoundError,
    PermissionDeniedError,
    TransportError,
    UploadError,
)
from deepset_cloud.models import WriteMode

__all__ = ["DirectItem", "upload_direct"]

# Errors that say every other file would fail the same way (a wrong key, workspace or API_URL, an API that
# cannot be reached): raise, as the session path does when it cannot open a session, instead of reporting
# each file. `POST files` is one collection endpoint, so a 404 or 405 there is never about one file.
_FATAL_ERRORS = (AuthenticationError, PermissionDeniedError, NotFoundError, ConnectError)


def _is_fatal(exc: DeepsetCloudError) -> bool:
    if isinstance(exc, _FATAL_ERRORS):
        return True
    return isinstance(exc, APIError) and (300 <= exc.status_code < 400 or exc.status_code == 405)


_LOST_ANSWER_TRIES = 3
_CLOCK_TOLERANCE = timedelta(seconds=5)
_LOOKUP_PAGES = 10


@attrs.frozen(slots=True)
class DirectItem:
    """One file for `POST files`: its name, content, and metadata (a sidecar to read, or a dict)."""

    name: str
    body: Path | bytes
    meta: Path | dict[str, Any] | None = None


def _read_sidecar(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_bytes())
    if not isinstance(value, dict):
        raise ValueError(f"{path} no longer holds a JSON object")
    return value


async def _meta_of(item: DirectItem) -> dict[str, Any]:
    if isinstance(item.meta, Path):
        return await anyio.to_thread.run_sync(_read_sidecar, item.meta)
    # Like the official SDK, always send an object: `{}` when there is no metadata.
    return item.meta if item.meta is not None else {}


async def upload_direct(
    api: UploadAPI,
    *,
    workspace: str,
    items: Sequence[DirectItem],
    write_mode: WriteMode,
    concurrency: int,
    tally: UploadTally,
    progress: ProgressBar,
) -> None:
    """Upload each item with `POST files`, at most `concurrency` at once; results go to `tally`.

    Raises:
        AuthenticationError: the API key was rejected (no file can be uploaded).
        PermissionDeniedError: the key may not write to this workspace.
        NotFoundError: no such workspace, or API_URL is not the API.
        ConnectError: the API cannot be reached (after retries).
    """
    limiter = anyio.CapacityLimiter(concurrency)
    fatal: list[DeepsetCloudError] = []

    async def upload_one(item: DirectItem) -> None:
        async with limiter:
            try:
                meta = await _meta_of(item)
                await _upload_checked(api, workspace, item, meta, write_mode)
            except DeepsetCloudError as exc:
                if _is_fatal(exc):
                    fatal.append(exc)
                    task_group.cancel_scope.cancel()
                    return
                tally.failure(item.name, exc)
            except (OSError, ValueError) as exc:
                error = UploadError(f"cannot read {item.name!r} or its metadata: {exc}", file_name=item.name)
                tally.failure(item.name, error)
            else:
                tally.success()
            progress.advance()

    async with anyio.create_task_group() as task_group:
        for item in items:
            task_group.start_soon(upload_one, item)
    if fatal:
        raise fatal[0]


async def _upload_checked(
    api: UploadAPI, workspace: str, item: DirectItem, meta: dict[str, Any], write_mode: WriteMode
) -> None:
    """`POST files` once; if its answer is lost, look for the file before trying again or giving up."""
    for attempt in range(1, _LOST_ANSWER_TRIES + 1):
        started = datetime.now(timezone.utc)
        try:
            await api.direct_upload(
                workspace, name=item.name, body=item.body, meta=meta, write_mode=write_mode
            )
            return
        except TransportError as exc:
            if isinstance(exc, ConnectError):  # never reached the server (and was retried already)
                raise
            if await _stored_since(api, workspace, item.name, started - _CLOCK_TOLERANCE):
                logger.info("%r is stored although the answer to its upload was lost", item.name)
                return
            if attempt == _LOST_ANSWER_TRIES:
                raise
            logger.warning("The answer to the upload of %r was lost and it is not stored; again", item.name)


async def _stored_since(api: UploadAPI, workspace: str, name: str, since: datetime) -> bool:
    """Whether the workspace lists a file named exactly `name` created at or after `since`."""
    after = None
    for _ in range(_LOOKUP_PAGES):
        page = await api.list_files_page(workspace, limit=100, name=name, after=after)
        for file in page.data:
            created = (
                file.created_at if file.created_at.tzinfo else file.created_at.replace(tzinfo=timezone.utc)
            )
            if file.name == name and created >= since:
                return True
        if not page.has_more or not page.data:
            return False
        after = (page.data[-1].created_at, page.data[-1].file_id)
    return False
