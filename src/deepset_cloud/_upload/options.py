"""Knobs, shared records and the API surface of the upload pipeline."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from uuid import UUID

import attrs

from deepset_cloud._fileio import LocalPath
from deepset_cloud._http.api import Page, SessionFile
from deepset_cloud._http.proxies import proxy_for
from deepset_cloud._http.storage import STREAM_THRESHOLD_BYTES, S3Timeouts
from deepset_cloud._retry import RetryPolicy
from deepset_cloud._upload.meta_json import dump_json
from deepset_cloud._upload.sources import RemoteObject
from deepset_cloud.models import (
    File,
    FileUploadResult,
    UploadSession,
    UploadSessionDetail,
    UploadSessionStatus,
    WriteMode,
)

__all__ = [
    "DEFAULT_API_CONCURRENCY",
    "DEFAULT_S3_CONCURRENCY",
    "DIRECT_UPLOAD_THRESHOLD",
    "ForwardingUploadAPI",
    "PROXY_S3_CONCURRENCY",
    "SAFE_MODE_MAX_TRIES",
    "Bundle",
    "JsonMeta",
    "PipelineStats",
    "UploadAPI",
    "UploadObject",
    "UploadOptions",
    "UploadSettings",
    "UploadTally",
    "logger",
    "resolve_concurrency",
    "resolve_retry",
]

logger = logging.getLogger("deepset_cloud.upload")

DIRECT_UPLOAD_THRESHOLD = 20
"""Uploads of at most this many objects use `POST files` (one request per file) instead of a session.

Path uploads count files plus sidecars, exactly like the official SDK (so the same inputs take the same
route); in-memory uploads count files.
"""
DEFAULT_S3_CONCURRENCY = 32
"""Storage posts in flight by default: measured against 10 and 40 (`benchmarks/`), 32 posts the most files
per second for the least client CPU per file (10 leaves the client waiting on round trips)."""
DEFAULT_API_CONCURRENCY = 10
"""Requests in flight to the deepset Cloud API itself (direct uploads, downloads): its rate limits, not
the client, are what bound them."""
PROXY_S3_CONCURRENCY = 4
SAFE_MODE_MAX_TRIES = 10


@attrs.frozen(kw_only=True)
class UploadSettings:
    """Tuning of the upload pipeline; every field has a sensible default.

    Attributes:
        s3_concurrency: parallel storage posts (and direct uploads); None picks 32 for storage posts and 10
            for requests to the API (direct uploads, downloads), or 4 where the environment routes the API
            through a proxy. `safe_mode` forces 1.
        max_files_per_session: objects (files plus sidecars) per session before rolling over to a new one.
        retry: the waits between retries of storage posts (backoff, `Retry-After` cap); None uses
            `RetryPolicy()`. Its `max_tries` and `max_time_s` do not bound storage posts: they are retried
            while their session takes posts, within `upload_deadline_s` and `storage_stall_limit_s`.
        direct_upload_threshold: uploads of at most this many objects go through `POST files`.
        direct_upload_max_bytes: a file larger than this forces the session path (server limit 200 MB).
        session_expiry_margin_s: roll over to a new session when the current one expires within this.
        max_open_sessions: sessions this upload keeps open at once (the server allows 10 per workspace).
        close_timeout_s: time budget for closing sessions after an error or a cancellation.
        poll_initial_s: first wait between ingestion status polls; it doubles after each poll ...
        poll_max_s: ... up to this.
        stream_threshold_bytes: files larger than this are streamed from disk instead of read whole.
        s3_timeouts: connect/read timeouts of one storage post.
        storage_stall_limit_s: end the upload (with its report) when storage posts make no progress for
            this long: no post succeeded and no streamed body moved.
        upload_deadline_s: no storage post is retried after this many seconds since the upload started;
            None: posts are retried as long as their session takes them.
    """

    s3_concurrency: int | None = attrs.field(default=None)
    max_files_per_session: int = attrs.field(default=50_000, validator=attrs.validators.ge(2))
    retry: RetryPolicy | None = None
    direct_upload_threshold: int = attrs.field(
        default=DIRECT_UPLOAD_THRESHOLD, validator=attrs.validators.ge(0)
    )
    direct_upload_max_bytes: int = 200 * 1024 * 1024
    session_expiry_margin_s: float = attrs.field(default=600.0, validator=attrs.validators.ge(0))
    max_open_sessions: int = attrs.field(default=3, validator=attrs.validators.ge(1))
    close_timeout_s: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    poll_initial_s: float = attrs.field(default=0.05, validator=attrs.validators.gt(0))
    poll_max_s: float = attrs.field(default=2.0, validator=attrs.validators.gt(0))
    stream_threshold_bytes: int = attrs.field(
        default=STREAM_THRESHOLD_BYTES, validator=attrs.validators.ge(0)
    )
    s3_timeouts: S3Timeouts = attrs.field(factory=S3Timeouts)
    storage_stall_limit_s: float = attrs.field(default=60.0, validator=attrs.validators.gt(0))
    upload_deadline_s: float | None = None

    @s3_concurrency.validator
    def _check_concurrency(self, attribute: attrs.Attribute[int | None], value: int | None) -> None:
        if value is not None and value < 1:
            raise ValueError(f"s3_concurrency must be at least 1, not {value}")


def resolve_concurrency(
    settings: UploadSettings, *, safe_mode: bool, target_url: str | None = None, to_api: bool = False
) -> int:
    """Return how many uploads (or downloads) run in parallel: 1 in safe mode, else the setting or the default.

    The default is `DEFAULT_S3_CONCURRENCY` for storage posts, `DEFAULT_API_CONCURRENCY` for requests to the
    API itself (`to_api`: direct uploads, downloads).

    The default is lower when the environment (`HTTP(S)_PROXY`, `NO_PROXY`) routes `target_url`, the API
    URL, through a proxy: the official SDK's fix for socket exhaustion in corporate proxies.
    """
    if safe_mode:
        return 1
    if settings.s3_concurrency is not None:
        return settings.s3_concurrency
    if target_url is not None and proxy_for(target_url) is not None:
        return PROXY_S3_CONCURRENCY
    return DEFAULT_API_CONCURRENCY if to_api else DEFAULT_S3_CONCURRENCY


def resolve_retry(settings: UploadSettings, *, safe_mode: bool) -> RetryPolicy:
    """Return the retry policy of storage posts (more tries in safe mode)."""
    policy = settings.retry or RetryPolicy()
    if safe_mode and policy.max_tries < SAFE_MODE_MAX_TRIES:
        return policy.with_changes(max_tries=SAFE_MODE_MAX_TRIES)
    return policy


class UploadAPI(Protocol):
    """The deepset Cloud endpoints the pipeline uses (implemented by `DeepsetCloudAPI`)."""

    async def create_upload_session(
        self, workspace: str, *, write_mode: WriteMode, enable_parallel_processing: bool = False
    ) -> UploadSession: ...

    async def close_upload_session(self, workspace: str, session_id: UUID) -> None: ...

    async def get_upload_session(self, workspace: str, session_id: UUID) -> UploadSessionStatus: ...

    async def list_files_page(
        self,
        workspace: str,
        *,
        limit: int,
        name: str | None = None,
        content: str | None = None,
        odata_filter: str | None = None,
        after: tuple[datetime, UUID] | None = None,
    ) -> Page[File]: ...

    async def list_upload_sessions_page(
        self, workspace: str, *, page_number: int, limit: int, is_expired: bool | None
    ) -> Page[UploadSessionDetail]: ...

    async def session_files(
        self, workspace: str, session_id: UUID, *, ingestion_status: str | None = None
    ) -> list[SessionFile] | None: ...

    async def session_file_names(self, workspace: str, session_id: UUID) -> frozenset[str] | None: ...

    async def direct_upload(
        self,
        workspace: str,
        *,
        name: str,
        body: Path | bytes,
        meta: dict[str, Any] | None,
        write_mode: WriteMode,
    ) -> UUID: ...


class ForwardingUploadAPI:
    """An `UploadAPI` that forwards every call to another one: subclass it to change one endpoint."""

    def __init__(self, api: UploadAPI) -> None:
        self._api = api

    async def create_upload_session(
        self, workspace: str, *, write_mode: WriteMode, enable_parallel_processing: bool = False
    ) -> UploadSession:
        """Open a session."""
        return await self._api.create_upload_session(
            workspace, write_mode=write_mode, enable_parallel_processing=enable_parallel_processing
        )

    async def close_upload_session(self, workspace: str, session_id: UUID) -> None:
        """Close a session."""
        await self._api.close_upload_session(workspace, session_id)

    async def get_upload_session(self, workspace: str, session_id: UUID) -> UploadSessionStatus:
        """Return a session's status."""
        return await self._api.get_upload_session(workspace, session_id)

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


@attrs.frozen(slots=True)
class JsonMeta:
    """Metadata to upload as a `<name>.meta.json` object, serialised only when it is posted."""

    value: dict[str, Any]

    def encode(self) -> bytes:
        """Return the JSON text of the metadata (as `json.dumps` writes it) as UTF-8."""
        return dump_json(self.value).encode()


@attrs.frozen(slots=True)
class UploadObject:
    """One object to store: a name and where its content comes from."""

    name: str
    source: Path | LocalPath | bytes | str | JsonMeta | RemoteObject

    def payload(self) -> Path | LocalPath | bytes | str | RemoteObject:
        """Return what the storage poster takes (metadata is serialised here, at the last moment)."""
        return self.source.encode() if isinstance(self.source, JsonMeta) else self.source


@attrs.frozen(slots=True)
class Bundle:
    """A file and its metadata sidecar: always posted to the same session, the sidecar first."""

    file: UploadObject
    sidecar: UploadObject | None = None

    @property
    def object_count(self) -> int:
        """Objects this bundle posts."""
        return 1 if self.sidecar is None else 2


@attrs.define
class UploadTally:
    """Counts every attempted upload; keeps a result only for failures (memory grows with failures)."""

    attempted: int = 0
    succeeded: int = 0
    failed: list[FileUploadResult] = attrs.Factory(list)

    def success(self) -> None:
        """Count one successful upload."""
        self.attempted += 1
        self.succeeded += 1

    def failure(self, name: str, exception: Exception) -> None:
        """Count one failed upload and keep why it failed."""
        self.attempted += 1
        self.failed.append(FileUploadResult(file_name=name, success=False, exception=exception))
        logger.warning("Upload of %r failed: %s", name, exception)


@attrs.define
class PipelineStats:
    """Counters of the session pipeline, for tests and benchmarks (memory is bounded by concurrency)."""

    in_flight: int = 0
    max_in_flight: int = 0
    sessions_opened: int = 0
    open_sessions: int = 0
    max_open_sessions: int = 0

    def job_started(self) -> None:
        """A worker took a bundle from the supply."""
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def job_finished(self) -> None:
        """A worker finished a bundle."""
        self.in_flight -= 1

    def session_opened(self) -> None:
        """A session was created."""
        self.sessions_opened += 1
        self.open_sessions += 1
        self.max_open_sessions = max(self.max_open_sessions, self.open_sessions)

    def session_closed(self) -> None:
        """A session was closed."""
        self.open_sessions -= 1


@attrs.frozen(kw_only=True)
class UploadOptions:
    """How one upload runs, whatever its inputs: the caller's choices and the pipeline tuning.

    Attributes:
        write_mode: what happens to files whose name already exists.
        blocking: wait until the server has ingested the files (session path only).
        timeout_s: the longest wait for ingestion; None waits as long as it takes.
        show_progress: draw progress bars.
        enable_parallel_processing: let the server ingest a session's files in parallel.
        safe_mode: one upload at a time with more retries, for unreliable networks.
        settings: pipeline tuning.
        stats: counters filled in by the session path, for tests and benchmarks.
        target_url: the API URL; fewer uploads run in parallel when it goes through a proxy.
    """

    write_mode: WriteMode = WriteMode.KEEP
    blocking: bool = True
    timeout_s: float | None = None
    show_progress: bool = True
    enable_parallel_processing: bool = False
    safe_mode: bool = False
    settings: UploadSettings = attrs.field(factory=UploadSettings)
    stats: PipelineStats | None = None
    target_url: str | None = None
