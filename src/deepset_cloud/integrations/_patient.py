"""Waiting for a free upload session when many workers share an account's open-session limit."""

from __future__ import annotations

import random
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import anyio

from deepset_cloud._upload.options import UploadAPI, logger
from deepset_cloud.errors import ConflictError
from deepset_cloud.models import File, UploadSession, UploadSessionDetail, UploadSessionStatus, WriteMode

if TYPE_CHECKING:
    from deepset_cloud._http.api import Page, SessionFile

__all__ = ["WaitForSessionSlot"]

_FIRST_DELAY_S = 0.1
_MAX_DELAY_S = 5.0


class WaitForSessionSlot:
    """The upload endpoints, except that opening a session waits while the open-session limit is reached.

    The API answers 409 to a new session while the workspace has as many open sessions as it allows;
    with N workers that is expected, not an error, so the request is repeated with jittered exponential
    backoff (a refused request created nothing, so repeating it cannot duplicate a session) until
    `wait_s` has passed.
    """

    def __init__(self, api: UploadAPI, wait_s: float) -> None:
        self._api = api
        self._wait_s = wait_s

    async def create_upload_session(
        self, workspace: str, *, write_mode: WriteMode, enable_parallel_processing: bool = False
    ) -> UploadSession:
        """Open a session, waiting (up to `wait_s`) while the open-session limit is reached."""
        deadline = anyio.current_time() + self._wait_s
        delay = _FIRST_DELAY_S
        while True:
            try:
                return await self._api.create_upload_session(
                    workspace, write_mode=write_mode, enable_parallel_processing=enable_parallel_processing
                )
            except ConflictError as exc:
                wait = delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)
                if anyio.current_time() + wait > deadline:
                    raise
                logger.info("No free upload session in %r (%s); retrying in %.1f s", workspace, exc, wait)
                await anyio.sleep(wait)
                delay = min(delay * 2, _MAX_DELAY_S)

    async def close_upload_session(self, workspace: str, session_id: UUID) -> None:
        """Close a session."""
        await self._api.close_upload_session(workspace, session_id)

    async def get_upload_session(self, workspace: str, session_id: UUID) -> UploadSessionStatus:
        """Return a session's status."""
        return await self._api.get_upload_session(workspace, session_id)

    async def direct_upload(
        self,
        workspace: str,
        *,
        name: str,
        body: Path | bytes,
        meta: dict[str, Any] | None,
        write_mode: WriteMode,
    ) -> UUID:
        """Upload one file directly."""
        return await self._api.direct_upload(
            workspace, name=name, body=body, meta=meta, write_mode=write_mode
        )

    async def list_files_page(
        self,
        workspace: str,
        *,
        limit: int,
        name: str | None = None,
        content: str | None = None,
        odata_filter: str | None = None,
        after: tuple[datetime, UUID] | None = None,
    ) -> Page[File]:
        """Return one page of files."""
        return await self._api.list_files_page(
            workspace, limit=limit, name=name, content=content, odata_filter=odata_filter, after=after
        )

    async def list_upload_sessions_page(
        self, workspace: str, *, page_number: int, limit: int, is_expired: bool | None
    ) -> Page[UploadSessionDetail]:
        """Return one page of upload sessions."""
        return await self._api.list_upload_sessions_page(
            workspace, page_number=page_number, limit=limit, is_expired=is_expired
        )

    async def session_files(
        self, workspace: str, session_id: UUID, *, ingestion_status: str | None = None
    ) -> list[SessionFile] | None:
        """Return a session's raw files with their ingestion state, or None if not offered."""
        return await self._api.session_files(workspace, session_id, ingestion_status=ingestion_status)

    async def session_file_names(self, workspace: str, session_id: UUID) -> frozenset[str] | None:
        """Return the names of a session's raw files, or None if not offered."""
        return await self._api.session_file_names(workspace, session_id)
