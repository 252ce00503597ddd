"""One method per deepset Cloud endpoint: build the request, send it through the transport, structure it.

No retry logic lives here beyond telling the transport whether a request is idempotent; no aiohttp type
appears here.
"""

from __future__ import annotations

import json
import mimetypes
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

from deepset_cloud._converter import structure_response
from deepset_cloud._http.pages import Page, structure_file_page
from deepset_cloud._http.transport import FormPart, Transport
from deepset_cloud.errors import NotFoundError, ResponseValidationError
from deepset_cloud.models import (
    FailedMetaUpdate,
    File,
    UploadSession,
    UploadSessionDetail,
    UploadSessionStatus,
    WriteMode,
)

__all__ = ["DeepsetCloudAPI", "Page", "SessionFile"]


@attrs.frozen(kw_only=True)
class SessionFile:
    """One raw file of an upload session and its ingestion state (E11)."""

    name: str
    ingestion_status: str
    ingestion_status_reason: str | None = None
    file_ingestion_id: str | None = None


_SESSION_FILES_PAGE = 1000


@attrs.frozen(kw_only=True)
class _FileIdResponse:
    file_id: UUID


@attrs.frozen(kw_only=True)
class _MetaUpdateResponse:
    failed_count: int = 0
    failed_files: tuple[FailedMetaUpdate, ...] = ()


def format_after_value(created_at: datetime) -> str:
    """Format a cursor timestamp the way the official SDK does: `isoformat()` of an aware datetime."""
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=timezone.utc)
    return created_at.isoformat()


class DeepsetCloudAPI:
    """The deepset Cloud file and upload-session endpoints, typed.

    Args:
        transport: the transport that sends the requests (and owns the connection pool).
    """

    def __init__(self, transport: Transport) -> None:
        self.transport = transport

    def __repr__(self) -> str:
        return f"DeepsetCloudAPI(api_url={self.transport.api_url!r})"

    # -- upload sessions --------------------------------------------------------------------------------

    async def create_upload_session(
        self, workspace: str, *, write_mode: WriteMode, enable_parallel_processing: bool = False
    ) -> UploadSession:
        """Open an upload session (E5). Retried only when the request provably never reached the server."""
        data = await self.transport.request(
            "POST",
            self.transport.workspace_url(workspace, "upload_sessions"),
            json={
                "write_mode": WriteMode(write_mode).value,
                "parallel_processing_enabled": enable_parallel_processing,
            },
            idempotent=False,
            describe=f"create upload session in {workspace!r}",
        )
        return structure_response(data, UploadSession)

    async def close_upload_session(self, workspace: str, session_id: UUID) -> None:
        """Close an upload session (E7), which starts ingestion; retried (closing twice changes nothing).

        Raises:
            ConflictError: 409, the session is closed already (e.g. a retried close whose first answer was
                lost) or has expired; the caller tells which (only an expired one loses files).
        """
        await self.transport.request(
            "PUT",
            self.transport.workspace_url(workspace, "upload_sessions", str(session_id)),
            json={"status": "CLOSED"},
            idempotent=True,
            expect_json=False,
            describe=f"close upload session {session_id}",
        )

    async def get_upload_session(self, workspace: str, session_id: UUID) -> UploadSessionStatus:
        """Return the ingestion status of an upload session (E8)."""
        data = await self.transport.request(
            "GET",
            self.transport.workspace_url(workspace, "upload_sessions", str(session_id)),
            idempotent=True,
            describe=f"get upload session {session_id}",
        )
        return structure_response(data, UploadSessionStatus)

    async def session_files(
        self, workspace: str, session_id: UUID, *, ingestion_status: str | None = None
    ) -> list[SessionFile] | None:
        """Return every raw file of a session with its ingestion state (E11), or None if not offered.

        E11 (`GET upload_sessions/{id}/files`) is not part of every deployment of the API (see
        protocol.md): a 404 means "not offered" here, and callers fall back to what they know.
        """
        url = self.transport.workspace_url(workspace, "upload_sessions", str(session_id), "files")
        found: list[SessionFile] = []
        page_number = 1
        while True:
            params: dict[str, str | int] = {"page_number": page_number, "limit": _SESSION_FILES_PAGE}
            if ingestion_status is not None:
                params["ingestion_status"] = ingestion_status
            try:
                data = await self.transport.request(
                    "GET", url, params=params, idempotent=True, describe=f"list files of session {session_id}"
                )
            except NotFoundError:
                return None
            page = structure_response(data, Page[SessionFile])
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            page_number += 1

    async def session_file_names(self, workspace: str, session_id: UUID) -> frozenset[str] | None:
        """Return the names of the raw files a session has received (E11), or None if not offered."""
        files = await self.session_files(workspace, session_id)
        return None if files is None else frozenset(file.name for file in files)

    async def list_upload_sessions_page(
        self, workspace: str, *, page_number: int, limit: int, is_expired: bool | None
    ) -> Page[UploadSessionDetail]:
        """Return one page of upload sessions (E9); `page_number` starts at 1."""
        params: dict[str, str | int] = {"page_number": page_number, "limit": limit}
        if is_expired is not None:
            params["is_expired"] = "true" if is_expired else "false"
        data = await self.transport.request(
            "GET",
            self.transport.workspace_url(workspace, "upload_sessions"),
            params=params,
            idempotent=True,
            describe=f"list upload sessions of {workspace!r}",
        )
        return structure_response(data, Page[UploadSessionDetail])

    # -- files ------------------------------------------------------------------------------------------

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
        """Return one page of files (E1), strictly after the `(created_at, file_id)` cursor if given."""
        data = await self.fetch_files_page(
            workspace, limit=limit, name=name, content=content, odata_filter=odata_filter, after=after
        )
        return structure_file_page(data)

    async def fetch_files_page(
        self,
        workspace: str,
        *,
        limit: int,
        name: str | None = None,
        content: str | None = None,
        odata_filter: str | None = None,
        after: tuple[datetime, UUID] | None = None,
    ) -> Any:
        """`list_files_page` without the structuring: the decoded JSON (see `structure_file_page`)."""
        params: dict[str, str | int] = {"limit": limit}
        if name is not None:
            params["name"] = name
        if content is not None:
            params["content"] = content
        if odata_filter is not None:
            params["filter"] = odata_filter
        if after is not None:
            params["after_value"] = format_after_value(after[0])
            params["after_file_id"] = str(after[1])
        return await self.transport.request(
            "GET",
            self.transport.workspace_url(workspace, "files"),
            params=params,
            idempotent=True,
            describe=f"list files of {workspace!r}",
        )

    async def direct_upload(
        self,
        workspace: str,
        *,
        name: str,
        body: Path | bytes,
        meta: dict[str, Any] | None,
        write_mode: WriteMode,
    ) -> UUID:
        """Upload one file synchronously (E2) and return its id.

        The `file` part is streamed from disk when `body` is a Path; `meta` travels as a JSON string part.
        Retried only when the request provably never reached the server (a retry could duplicate the file).
        """
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        form = (
            FormPart(name="file", value=body, filename=name, content_type=content_type),
            FormPart(name="meta", value=json.dumps(meta if meta is not None else {})),
        )
        data = await self.transport.request(
            "POST",
            self.transport.workspace_url(workspace, "files"),
            params={"write_mode": WriteMode(write_mode).value},
            form=form,
            idempotent=False,
            describe=f"upload {name!r} to {workspace!r}",
        )
        return structure_response(data, _FileIdResponse).file_id

    async def download_file(
        self, workspace: str, file_id: UUID, dest: Path, *, max_bytes: int | None = None
    ) -> None:
        """Stream the raw bytes of a file (E3) into `dest` (created or truncated), at most `max_bytes`."""
        await self.transport.download(
            self.transport.workspace_url(workspace, "files", str(file_id)),
            dest,
            max_bytes=max_bytes,
            describe=f"download file {file_id}",
        )

    async def get_file_meta(self, workspace: str, file_id: UUID) -> dict[str, Any]:
        """Return the metadata object of a file (E4)."""
        data = await self.transport.request(
            "GET",
            self.transport.workspace_url(workspace, "files", str(file_id), "meta"),
            idempotent=True,
            describe=f"get metadata of file {file_id}",
        )
        if not isinstance(data, dict):
            raise ResponseValidationError(
                f"metadata of file {file_id}: expected a JSON object, got {type(data).__name__}"
            )
        return data

    async def delete_file(self, workspace: str, file_id: UUID) -> None:
        """Delete one file (E10). Retried: a 404 that answers a retry means the first attempt deleted it."""
        await self.transport.request(
            "DELETE",
            self.transport.workspace_url(workspace, "files", str(file_id)),
            idempotent=True,
            expect_json=False,
            describe=f"delete file {file_id}",
            done_on_retry=(404,),
        )

    async def update_file_meta(
        self, workspace: str, meta_by_file_id: dict[str, dict[str, Any]]
    ) -> list[FailedMetaUpdate]:
        """Merge metadata into files (`POST files/update-meta`); return the files the API did not update.

        Merging the same values twice gives the same result, so the request is retried.
        """
        data = await self.transport.request(
            "POST",
            self.transport.workspace_url(workspace, "files", "update-meta"),
            json=meta_by_file_id,
            idempotent=True,
            describe=f"update metadata of {len(meta_by_file_id)} file(s) in {workspace!r}",
        )
        return list(structure_response(data, _MetaUpdateResponse).failed_files)
