"""The records the SDK takes and returns: frozen, keyword-only attrs classes with no I/O.

Field names are the wire names of the deepset Cloud API (see the protocol notes), so the converter
needs no renames. `meta` dictionaries are shallow-mutable: treat them as read-only.
"""

from __future__ import annotations

import enum
from datetime import datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

__all__ = [
    "AWSPrefixedRequestConfig",
    "DeepsetCloudFile",
    "DeepsetCloudFileBytes",
    "DownloadReport",
    "FailedDownload",
    "File",
    "FileUploadResult",
    "IngestionCounts",
    "SkippedFile",
    "UploadReport",
    "UploadSession",
    "UploadSessionDetail",
    "UploadSessionIngestionStatus",
    "UploadSessionStatus",
    "UploadSessionStatusEnum",
    "UserInfo",
    "WriteMode",
]


class WriteMode(str, enum.Enum):
    """What happens when an uploaded file has the name of a file already in the workspace."""

    KEEP = "KEEP"
    """Upload anyway; both files exist."""
    OVERWRITE = "OVERWRITE"
    """Replace every existing file with that name."""
    FAIL = "FAIL"
    """Do not upload the file; it is reported as failed."""


class UploadSessionStatusEnum(str, enum.Enum):
    """Lifecycle state of an upload session. `UNKNOWN` stands for a state this SDK does not know yet."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    EXPIRED = "EXPIRED"
    UNKNOWN = "UNKNOWN"


@attrs.frozen(kw_only=True)
class File:
    """A file stored in a deepset Cloud workspace, as listed by `list_files`."""

    file_id: UUID
    url: str
    name: str
    size: int
    created_at: datetime
    meta: dict[str, Any]


@attrs.frozen(kw_only=True)
class UserInfo:
    """The user who created an upload session."""

    user_id: UUID
    given_name: str
    family_name: str


@attrs.frozen(kw_only=True)
class UploadSessionDetail:
    """An upload session as listed by `list_upload_sessions`."""

    session_id: UUID
    created_by: UserInfo
    created_at: datetime
    expires_at: datetime
    write_mode: WriteMode | str
    """A `WriteMode`, or the server's value as a plain str if this SDK does not know it."""
    status: UploadSessionStatusEnum


@attrs.frozen(kw_only=True)
class UploadSessionIngestionStatus:
    """How many raw files of a session were ingested or failed so far (sidecars are not counted)."""

    failed_files: int
    finished_files: int


@attrs.frozen(kw_only=True)
class UploadSessionStatus:
    """The ingestion status of one upload session, as returned by `get_upload_session`."""

    session_id: UUID
    expires_at: datetime
    documentation_url: str
    ingestion_status: UploadSessionIngestionStatus


@attrs.frozen(kw_only=True)
class AWSPrefixedRequestConfig:
    """Where and how to POST the objects of an upload session (an S3 presigned POST)."""

    url: str
    fields: dict[str, str]


@attrs.frozen(kw_only=True)
class UploadSession:
    """A newly opened upload session."""

    session_id: UUID
    documentation_url: str
    expires_at: datetime
    aws_prefixed_request_config: AWSPrefixedRequestConfig


@attrs.frozen(kw_only=True)
class DeepsetCloudFile:
    """A text to upload under `name`, with optional metadata."""

    text: str
    name: str
    meta: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class DeepsetCloudFileBytes:
    """Raw bytes to upload under `name`, with optional metadata."""

    file_bytes: bytes = attrs.field(repr=lambda value: f"<{len(value)} bytes>")
    name: str
    meta: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class FileUploadResult:
    """The outcome of uploading one file (or sidecar), in the shape of the official SDK's result.

    Attributes:
        file_name: the name the file was uploaded under.
        success: whether the upload succeeded.
        exception: the error that made it fail, a `DeepsetCloudError`, or None.
    """

    file_name: str
    success: bool
    exception: Exception | None = attrs.field(default=None, eq=False)

    @property
    def reason(self) -> str | None:
        """A one-line reason for a failed upload, or None if it succeeded."""
        return None if self.exception is None else str(self.exception)


@attrs.frozen(kw_only=True)
class SkippedFile:
    """A path the upload found but deliberately did not upload, and why.

    Attributes:
        path: the local path, or the URL of an object in object storage.
        reason: why it was not uploaded.
    """

    path: Path | str
    reason: str


@attrs.frozen(kw_only=True)
class IngestionCounts:
    """Ingestion outcome of the upload's sessions when the upload waited for it (`blocking=True`)."""

    finished_files: int
    failed_files: int


@attrs.frozen(kw_only=True)
class UploadReport:
    """What an upload did. Compatible with the official SDK's `S3UploadSummary`.

    Attributes:
        total_files: number of uploads attempted (files, plus sidecars on the session path).
        successful_upload_count: uploads that succeeded.
        failed_upload_count: uploads that failed.
        failed: one result per failed upload, with its error.
        skipped: paths found but not uploaded (unsupported type, duplicate name, ...), with the reason.
        session_ids: the upload sessions used (empty for the direct path).
        ingestion: ingestion counts when the upload waited for ingestion, else None.
    """

    total_files: int
    successful_upload_count: int
    failed_upload_count: int
    failed: tuple[FileUploadResult, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    session_ids: tuple[UUID, ...] = ()
    ingestion: IngestionCounts | None = None


@attrs.frozen(kw_only=True)
class FailedDownload:
    """A file that `download` could not save, and why.

    Attributes:
        file_id: the file's id in deepset Cloud.
        name: the file's name in deepset Cloud (as the server sent it).
        reason: a one-line reason.
    """

    file_id: UUID
    name: str
    reason: str


@attrs.frozen(kw_only=True)
class DownloadReport:
    """What a download did.

    Attributes:
        downloaded: the local paths of the saved files (metadata sidecars are saved next to them as
            `<path>.meta.json` when requested).
        failed: every file that could not be saved, with its reason; nothing of it is left on disk.
    """

    downloaded: tuple[Path, ...] = ()
    failed: tuple[FailedDownload, ...] = ()
