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
    "DeleteReport",
    "DeletedFile",
    "DownloadReport",
    "FailedDelete",
    "FailedDownload",
    "FailedMetaUpdate",
    "File",
    "FileUploadResult",
    "IngestionCounts",
    "IngestionFailure",
    "MetaUpdateReport",
    "PlannedChange",
    "SkippedFile",
    "SyncFailure",
    "SyncReport",
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
class IngestionFailure:
    """A file that was uploaded but failed ingestion, and why (the session's per-file status).

    Attributes:
        name: the file's name.
        reason: the server's reason, e.g. `EMPTY_FILE`, `FAILED_TO_PARSE_META`, `FILE_ALREADY_EXISTS`.
        session_id: the upload session the file was posted to.
    """

    name: str
    reason: str
    session_id: UUID


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
        failed_ingestion: after a blocking upload, each file that failed ingestion with its reason (empty
            where the API does not list a session's files; `ingestion.failed_files` still counts them).
    """

    total_files: int
    successful_upload_count: int
    failed_upload_count: int
    failed: tuple[FileUploadResult, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    session_ids: tuple[UUID, ...] = ()
    ingestion: IngestionCounts | None = None
    failed_ingestion: tuple[IngestionFailure, ...] = ()


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


@attrs.frozen(kw_only=True)
class SyncFailure:
    """A file that `sync` could not bring up to date (upload, metadata update or deletion), and why."""

    name: str
    reason: str


@attrs.frozen(kw_only=True)
class PlannedChange:
    """One change a dry-run `sync` would make.

    Attributes:
        action: "upload" (new file), "replace" (changed content), "update_meta" (changed metadata only)
            or "delete" (gone locally; only with `delete=True`).
        name: the file's name in the workspace.
        path: the local file, or the URL of an object in object storage (None for a deletion).
        file_id: the workspace file that would be replaced, updated or deleted (None for a new file).
    """

    action: str
    name: str
    path: Path | str | None = None
    file_id: UUID | None = None


@attrs.frozen(kw_only=True)
class SyncReport:
    """What a `sync` did, or with `dry_run` would do.

    Attributes:
        uploaded: new files uploaded (confirmed in the workspace when the sync waited for ingestion).
        updated: files replaced because their content changed, plus files whose metadata was updated.
        unchanged: local files the workspace already has with the same content and metadata.
        deleted: workspace files deleted because they are gone locally (only with `delete=True`).
        failed: every file that could not be synced, with the reason.
        skipped: local paths left out on purpose (unsupported type, empty file, ...), with the reason.
        dry_run: whether nothing was changed and the counts are a plan.
        planned: with `dry_run`, the planned changes (unchanged files are not listed; at most 100,000,
            the rest is counted in `planned_omitted`); else empty.
        planned_omitted: with `dry_run`, how many planned changes `planned` leaves out.
        deletion_skipped: why planned deletions did not run (e.g. a failed upload), else None.
        session_ids: the upload sessions used.
        ingestion: ingestion counts of the uploads when the sync waited for them, else None.
    """

    uploaded: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: int = 0
    failed: tuple[SyncFailure, ...] = ()
    skipped: tuple[SkippedFile, ...] = ()
    dry_run: bool = False
    planned: tuple[PlannedChange, ...] = ()
    planned_omitted: int = 0
    deletion_skipped: str | None = None
    session_ids: tuple[UUID, ...] = ()
    ingestion: IngestionCounts | None = None


@attrs.frozen(kw_only=True)
class DeletedFile:
    """A file that `delete_files` deleted (or would delete); `name` is None when selected by id only."""

    file_id: UUID
    name: str | None = None


@attrs.frozen(kw_only=True)
class FailedDelete:
    """A file that could not be deleted, and why."""

    file_id: UUID
    name: str | None = None
    reason: str


@attrs.frozen(kw_only=True)
class DeleteReport:
    """What `delete_files` did, or with `dry_run` would do.

    Attributes:
        deleted: the files deleted (with `dry_run`: the files selected for deletion).
        failed: every file that could not be deleted, with the reason.
        dry_run: whether nothing was deleted.
    """

    deleted: tuple[DeletedFile, ...] = ()
    failed: tuple[FailedDelete, ...] = ()
    dry_run: bool = False


@attrs.frozen(kw_only=True)
class FailedMetaUpdate:
    """A file whose metadata could not be updated, with the API's error type and message."""

    file_id: UUID
    error_type: str
    error_message: str


@attrs.frozen(kw_only=True)
class MetaUpdateReport:
    """What `update_file_meta` did.

    Attributes:
        updated: how many files had their metadata updated.
        failed: every file that was not updated, with the reason.
    """

    updated: int = 0
    failed: tuple[FailedMetaUpdate, ...] = ()
