"""`AsyncClient`: the long-lived client that owns one connection pool; the source of truth for `Client`."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncGenerator, Iterable
from contextlib import aclosing
from pathlib import Path
from types import TracebackType
from typing import Any, cast
from uuid import UUID

import attrs

from deepset_cloud._config import DEFAULT_WORKSPACE_NAME, hide_key, resolve_settings, resolve_workspace
from deepset_cloud._corpus.meta import strip_reserved
from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.pagination import iterate_file_pages, iterate_session_pages
from deepset_cloud._http.storage import StorageClient
from deepset_cloud._http.transport import Transport
from deepset_cloud._retry import RetryPolicy
from deepset_cloud._upload.options import resolve_concurrency
from deepset_cloud._upload.pipeline import UploadOptions, UploadSettings, upload_memory_files, upload_paths
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import (
    DeepsetCloudFile,
    DeepsetCloudFileBytes,
    DeleteReport,
    DownloadReport,
    File,
    MetaUpdateReport,
    SyncReport,
    UploadReport,
    UploadSessionDetail,
    UploadSessionStatus,
    WriteMode,
)

__all__ = ["AsyncClient"]

logger = logging.getLogger("deepset_cloud")


class AsyncClient:
    """A client for deepset Cloud file workflows that reuses one connection pool across calls.

    Create one per application (and event loop) and close it when done, ideally as a context manager:
    `async with AsyncClient() as client: ...`. Creating it does no network I/O.

    Args:
        api_key: the deepset Cloud API key. Defaults to `API_KEY` from the environment, `./.env` or
            `~/.deepset-cloud/.env`.
        api_url: the API URL. Defaults to `API_URL` from the same sources, else
            `https://api.cloud.deepset.ai/api/v1`.
        workspace_name: the default workspace of this client. Defaults to `DEFAULT_WORKSPACE_NAME` from
            the same sources, read when a call needs it.
        timeout_s: the longest wait for a connection or for any read of a response, in seconds.
        s3_concurrency: how many files are uploaded or downloaded at once (default 32 storage posts, 10
            direct uploads or downloads; 4 when the environment's `HTTP(S)_PROXY`/`NO_PROXY` route the API
            URL through a proxy; 1 in safe mode).
        retry: how failed requests are retried (default: `RetryPolicy()`).
        max_files_per_session: objects (files and metadata sidecars) per upload session before a new
            session is opened.
        max_connections: the size of the connection pool.

    Raises:
        ConfigurationError: no API key is configured, or an argument is invalid.
    """

    api_url: str
    """The API URL requests go to (no trailing slash)."""
    workspace_name: str | None
    """The default workspace of this client, or None to read `DEFAULT_WORKSPACE_NAME` when a call needs it."""
    timeout_s: float
    """The longest wait for a connection or for any read of a response, in seconds."""
    s3_concurrency: int | None
    """How many files are uploaded or downloaded at once, or None for the default."""
    retry: RetryPolicy
    """How failed requests are retried."""
    max_files_per_session: int
    """Objects (files and metadata sidecars) per upload session before a new session is opened."""

    def __init__(
        self,
        api_key: str | None = None,
        api_url: str | None = None,
        workspace_name: str | None = None,
        *,
        timeout_s: float = 30.0,
        s3_concurrency: int | None = None,
        retry: RetryPolicy | None = None,
        max_files_per_session: int = 50_000,
        max_connections: int = 100,
    ) -> None:
        api_key = hide_key(api_key)  # tracebacks show frames' locals
        settings = resolve_settings(api_key, api_url, workspace_name, read_workspace=False)
        _check_positive("timeout_s", timeout_s)
        _check_positive("max_files_per_session", max_files_per_session)
        _check_positive("max_connections", max_connections)
        if s3_concurrency is not None:
            _check_positive("s3_concurrency", s3_concurrency)
        self.api_url = settings.api_url
        self.workspace_name = settings.workspace_name
        self.timeout_s = timeout_s
        self.s3_concurrency = s3_concurrency
        self.retry = retry if retry is not None else RetryPolicy()
        self.max_files_per_session = max_files_per_session
        try:
            self._upload_settings = UploadSettings(
                s3_concurrency=s3_concurrency, max_files_per_session=max_files_per_session, retry=self.retry
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid upload setting: {exc}") from exc
        self._transport = Transport(
            api_url=settings.api_url,
            api_key=settings.api_key,
            timeout_s=timeout_s,
            retry=self.retry,
            max_connections=max_connections,
        )
        self._api = DeepsetCloudAPI(self._transport)

    def __repr__(self) -> str:
        return f"AsyncClient(api_url={self.api_url!r}, workspace_name={self.workspace_name!r})"

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards; closing twice is harmless."""
        await self._transport.aclose()

    def _workspace(self, workspace_name: str) -> str:
        return resolve_workspace(workspace_name, self.workspace_name)

    async def list_files(
        self,
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        name: str | None = None,
        content: str | None = None,
        odata_filter: str | None = None,
        batch_size: int = 100,
        timeout_s: float | None = 300,
    ) -> AsyncGenerator[list[File], None]:
        """List the files of a workspace, page by page.

        Args:
            workspace_name: the workspace to list (default: the client's default workspace).
            name: only files whose name contains this text.
            content: only files whose content matches this text (older servers only).
            odata_filter: an OData filter on file metadata, e.g. `category eq 'news'`.
            batch_size: files per page.
            timeout_s: the longest time the whole listing may take, in seconds (None: no limit).

        Returns:
            A generator of pages; each page is a list of `File`.

        Raises:
            ConfigurationError: no workspace is configured or an argument is invalid.
            OperationTimeoutError: the listing took longer than `timeout_s`.
            APIError: the API refused the request (e.g. `AuthenticationError` for a bad key).
            TransportError: the API could not be reached.
        """
        workspace = self._workspace(workspace_name)
        pages = iterate_file_pages(
            self._api,
            workspace,
            name=name,
            content=content,
            odata_filter=odata_filter,
            batch_size=batch_size,
            timeout_s=timeout_s,
        )
        async with aclosing(pages):
            async for page in pages:
                yield [_user_view(file) for file in page.data]

    async def list_upload_sessions(
        self,
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        is_expired: bool | None = None,
        batch_size: int = 100,
        timeout_s: float | None = 300,
    ) -> AsyncGenerator[list[UploadSessionDetail], None]:
        """List the upload sessions of a workspace, page by page.

        Args:
            workspace_name: the workspace to list (default: the client's default workspace).
            is_expired: only expired (True) or only unexpired (False) sessions; None: all.
            batch_size: sessions per page.
            timeout_s: the longest time the whole listing may take, in seconds (None: no limit).

        Returns:
            A generator of pages; each page is a list of `UploadSessionDetail`.

        Raises:
            ConfigurationError: no workspace is configured or an argument is invalid.
            OperationTimeoutError: the listing took longer than `timeout_s`.
            APIError: the API refused the request.
            TransportError: the API could not be reached.
        """
        workspace = self._workspace(workspace_name)
        pages = iterate_session_pages(
            self._api, workspace, is_expired=is_expired, batch_size=batch_size, timeout_s=timeout_s
        )
        async with aclosing(pages):
            async for page in pages:
                yield list(page.data)

    async def get_upload_session(
        self, session_id: UUID, *, workspace_name: str = DEFAULT_WORKSPACE_NAME
    ) -> UploadSessionStatus:
        """Get the ingestion status of an upload session.

        Args:
            session_id: the upload session's id.
            workspace_name: the session's workspace (default: the client's default workspace).

        Returns:
            The session's status with its ingestion counts.

        Raises:
            ConfigurationError: no workspace is configured, or `session_id` is not a UUID.
            NotFoundError: the session or the workspace does not exist.
            APIError: the API refused the request.
            TransportError: the API could not be reached.
        """
        workspace = self._workspace(workspace_name)
        return await self._api.get_upload_session(workspace, _as_uuid(session_id, "session_id"))

    async def upload(
        self,
        paths: list[Path] | list[str] | list[Path | str],
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        write_mode: WriteMode = WriteMode.KEEP,
        blocking: bool = True,
        timeout_s: float | None = 300,
        show_progress: bool = True,
        recursive: bool = False,
        desired_file_types: list[str] | None = None,
        enable_parallel_processing: bool = False,
        safe_mode: bool = False,
        storage_options: dict[str, Any] | None = None,
    ) -> UploadReport:
        """Upload files and folders, with their `<name>.meta.json` metadata sidecars.

        Args:
            paths: files and folders to upload; fsspec URLs (`s3://bucket/docs/`, `gs://...`) too, whose
                objects are streamed to deepset Cloud without a local copy (extra `s3` for S3).
            workspace_name: the target workspace (default: the client's default workspace).
            write_mode: what happens when a file name already exists in the workspace.
            blocking: wait until the uploaded files are ingested.
            timeout_s: the longest wait for ingestion when `blocking`, in seconds (None: no limit).
            show_progress: show progress bars.
            recursive: include files in subfolders.
            desired_file_types: only upload files with these extensions (e.g. `[".txt", ".pdf"]`).
            enable_parallel_processing: let the server ingest the files in parallel.
            safe_mode: one upload at a time with more retries, for unreliable networks.
            storage_options: options of the fsspec filesystems of URLs (e.g. S3 credentials).

        Returns:
            What was uploaded, skipped and failed, and the ingestion counts when `blocking`.

        Raises:
            ConfigurationError: a path does not exist, a sidecar is invalid, or no workspace is configured;
                a URL cannot be listed (no such bucket, access denied, no credentials).
            IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
            APIError: the API refused to open or close an upload session, or rejected the API key.
            TransportError: the API could not be reached.
        """
        workspace = self._workspace(workspace_name)
        return await upload_paths(
            self._api,
            StorageClient(await self._transport.http_session()),
            workspace=workspace,
            paths=_as_list_of_paths(paths),
            recursive=recursive,
            desired_file_types=desired_file_types,
            options=UploadOptions(
                write_mode=write_mode,
                blocking=blocking,
                timeout_s=timeout_s,
                show_progress=show_progress,
                enable_parallel_processing=enable_parallel_processing,
                safe_mode=safe_mode,
                settings=self._upload_settings,
                target_url=self.api_url,
            ),
            storage_options=storage_options,
        )

    async def upload_file_paths(
        self,
        file_paths: list[Path] | list[str] | list[Path | str],
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        write_mode: WriteMode = WriteMode.KEEP,
        blocking: bool = True,
        timeout_s: float | None = 300,
        show_progress: bool = True,
        storage_options: dict[str, Any] | None = None,
    ) -> UploadReport:
        """Upload the given files, with their `<name>.meta.json` metadata sidecars if listed too.

        Args:
            file_paths: the files to upload; fsspec URLs of objects (`s3://bucket/a.pdf`) too.
            workspace_name: the target workspace (default: the client's default workspace).
            write_mode: what happens when a file name already exists in the workspace.
            blocking: wait until the uploaded files are ingested.
            timeout_s: the longest wait for ingestion when `blocking`, in seconds (None: no limit).
            show_progress: show progress bars.
            storage_options: options of the fsspec filesystems of URLs (e.g. S3 credentials).

        Returns:
            What was uploaded, skipped and failed, and the ingestion counts when `blocking`.

        Raises:
            ConfigurationError: a path does not exist, a sidecar is invalid, or no workspace is configured;
                a URL cannot be listed (no such bucket, access denied, no credentials).
            IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
            APIError: the API refused to open or close an upload session, or rejected the API key.
            TransportError: the API could not be reached.
        """
        return await self.upload(
            file_paths,
            workspace_name=workspace_name,
            write_mode=write_mode,
            blocking=blocking,
            timeout_s=timeout_s,
            show_progress=show_progress,
            storage_options=storage_options,
        )

    async def upload_texts(
        self,
        files: list[DeepsetCloudFile],
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        write_mode: WriteMode = WriteMode.KEEP,
        blocking: bool = True,
        timeout_s: float | None = 300,
        show_progress: bool = True,
        enable_parallel_processing: bool = False,
    ) -> UploadReport:
        """Upload texts from memory, each under its name and with its metadata.

        Args:
            files: the texts to upload.
            workspace_name: the target workspace (default: the client's default workspace).
            write_mode: what happens when a file name already exists in the workspace.
            blocking: wait until the uploaded files are ingested.
            timeout_s: the longest wait for ingestion when `blocking`, in seconds (None: no limit).
            show_progress: show progress bars.
            enable_parallel_processing: let the server ingest the files in parallel.

        Returns:
            What was uploaded and failed, and the ingestion counts when `blocking`.

        Raises:
            ConfigurationError: a file has no name, is of the wrong type or has metadata that is not a
                JSON-serialisable dict, a name ends with `.meta.json` (reserved for metadata in session
                uploads), or no workspace is configured; raised before any request.
            IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
            APIError: the API refused to open or close an upload session, or rejected the API key.
            TransportError: the API could not be reached.
        """
        return await self._upload_memory(
            _as_list_of(files, DeepsetCloudFile),
            workspace_name,
            write_mode,
            blocking,
            timeout_s,
            show_progress,
            enable_parallel_processing,
        )

    async def upload_bytes(
        self,
        files: list[DeepsetCloudFileBytes],
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        write_mode: WriteMode = WriteMode.KEEP,
        blocking: bool = True,
        timeout_s: float | None = None,
        show_progress: bool = True,
        enable_parallel_processing: bool = False,
    ) -> UploadReport:
        """Upload bytes from memory, each under its name and with its metadata.

        Args:
            files: the contents to upload.
            workspace_name: the target workspace (default: the client's default workspace).
            write_mode: what happens when a file name already exists in the workspace.
            blocking: wait until the uploaded files are ingested.
            timeout_s: the longest wait for ingestion when `blocking`, in seconds (None: no limit).
            show_progress: show progress bars.
            enable_parallel_processing: let the server ingest the files in parallel.

        Returns:
            What was uploaded and failed, and the ingestion counts when `blocking`.

        Raises:
            ConfigurationError: a file has no name, is of the wrong type or has metadata that is not a
                JSON-serialisable dict, a name ends with `.meta.json` (reserved for metadata in session
                uploads), or no workspace is configured; raised before any request.
            IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
            APIError: the API refused to open or close an upload session, or rejected the API key.
            TransportError: the API could not be reached.
        """
        return await self._upload_memory(
            _as_list_of(files, DeepsetCloudFileBytes),
            workspace_name,
            write_mode,
            blocking,
            timeout_s,
            show_progress,
            enable_parallel_processing,
        )

    async def _upload_memory(
        self,
        files: list[DeepsetCloudFile] | list[DeepsetCloudFileBytes],
        workspace_name: str,
        write_mode: WriteMode,
        blocking: bool,
        timeout_s: float | None,
        show_progress: bool,
        enable_parallel_processing: bool,
    ) -> UploadReport:
        workspace = self._workspace(workspace_name)
        return await upload_memory_files(
            self._api,
            StorageClient(await self._transport.http_session()),
            workspace=workspace,
            files=list(files),
            options=UploadOptions(
                write_mode=write_mode,
                blocking=blocking,
                timeout_s=timeout_s,
                show_progress=show_progress,
                enable_parallel_processing=enable_parallel_processing,
                settings=self._upload_settings,
                target_url=self.api_url,
            ),
        )

    async def download(
        self,
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        file_dir: Path | str | None = None,
        name: str | None = None,
        odata_filter: str | None = None,
        include_meta: bool = True,
        batch_size: int = 50,
        show_progress: bool = True,
        timeout_s: float | None = None,
        safe_mode: bool = False,
    ) -> DownloadReport:
        """Download the files of a workspace (optionally filtered) into a folder.

        Files keep their names; a name that exists already gets a suffix (`report_1.txt`). Names from the
        server are sanitised so nothing is ever written outside `file_dir`. A file that fails is reported,
        and the others are still downloaded.

        Args:
            workspace_name: the workspace to download from (default: the client's default workspace).
            file_dir: the folder to download into (created if missing; default: the current folder).
            name: only files whose name contains this text.
            odata_filter: an OData filter on file metadata, e.g. `category eq 'news'`.
            include_meta: also save each file's metadata as `<name>.meta.json`.
            batch_size: files per listing page (the files of a page download concurrently).
            show_progress: show a progress bar.
            timeout_s: the longest time the whole download may take, in seconds (None: no limit).
            safe_mode: one download at a time, for unreliable networks.

        Returns:
            The saved file paths and every file that failed, with its reason.

        Raises:
            ConfigurationError: no workspace is configured, or `file_dir` is not a folder.
            OperationTimeoutError: the download took longer than `timeout_s`.
            APIError: the API refused to list the files.
            TransportError: the API could not be reached.
        """
        # Imported here: sync, delete, update and download need modules (SQLite, the planner) that the
        # other calls never use; `import deepset_cloud` stays lighter by them.
        from deepset_cloud._download.files import download_files

        workspace = self._workspace(workspace_name)
        return await download_files(
            self._api,
            workspace,
            file_dir=Path.cwd() if file_dir is None else Path(file_dir),
            name=name,
            odata_filter=odata_filter,
            include_meta=include_meta,
            batch_size=batch_size,
            show_progress=show_progress,
            timeout_s=timeout_s,
            concurrency=resolve_concurrency(
                self._upload_settings, safe_mode=safe_mode, target_url=self.api_url, to_api=True
            ),
        )

    async def sync(
        self,
        paths: list[Path | str],
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        recursive: bool = False,
        desired_file_types: list[str] | None = None,
        delete: bool = False,
        dry_run: bool = False,
        blocking: bool = True,
        timeout_s: float | None = None,
        show_progress: bool = True,
        max_delete: int | float = 0.5,
        relative_names: bool = False,
        storage_options: dict[str, Any] | None = None,
    ) -> SyncReport:
        """Make a workspace follow local files and folders: upload new, replace changed, optionally delete gone.

        Files are matched by name. A file counts as changed when its content (SHA-256, stored in the
        file's metadata under `_deepset_cloud_sha256`, which `list_files` and `download` hide) or its
        `<file>.meta.json` sidecar (beside the file) differs; a metadata-only change updates the metadata
        in place. A rerun after an interruption uploads only what is missing or changed and never creates
        duplicates (replacements use `WriteMode.OVERWRITE`). Hashes are cached per user by size and mtime.

        Args:
            paths: files and folders to sync; fsspec URLs of objects and prefixes too.
            workspace_name: the target workspace (default: the client's default workspace).
            recursive: include files in subfolders.
            desired_file_types: only sync files with these extensions (default: the upload's types).
            delete: delete workspace files (of the selected types) that no longer exist locally.
            dry_run: change nothing; the report counts the changes and `planned` lists them.
            blocking: wait until uploaded files are ingested.
            timeout_s: the longest wait for ingestion when `blocking`, in seconds (None: no limit).
            show_progress: show progress bars.
            max_delete: the most files `delete` may remove: a count (int) or a fraction of the workspace's
                files (float, default half); a sync that would delete more is refused before any change.
            relative_names: name files by their path below the given folder (`sub/a.txt`) instead of
                their base name, e.g. when two folders hold files with the same name.
            storage_options: options of the fsspec filesystems of URLs among `paths` (`s3://bucket/docs/`,
                extra `s3`); objects are hashed and uploaded as streams, never copied to disk.

        Returns:
            The counts (uploaded, updated, unchanged, deleted), failures and skips; with `dry_run`, the plan.

        Raises:
            ConfigurationError: a path does not exist, two files would get the same name, a sidecar is
                invalid, or an argument is; nothing was changed.
            DeleteGuardError: more deletions than `max_delete` allows; nothing was changed.
            IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
            APIError: the API refused a request. TransportError: the API could not be reached.
        """
        from deepset_cloud._corpus.entry import run_sync  # see `download`

        return await run_sync(
            self._api,
            StorageClient(await self._transport.http_session()),
            self._upload_settings,
            workspace=self._workspace(workspace_name),
            paths=paths,
            recursive=recursive,
            desired_file_types=desired_file_types,
            delete=delete,
            dry_run=dry_run,
            blocking=blocking,
            timeout_s=timeout_s,
            show_progress=show_progress,
            max_delete=max_delete,
            relative_names=relative_names,
            storage_options=storage_options,
        )

    async def delete_files(
        self,
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        file_ids: list[UUID] | None = None,
        names: list[str] | None = None,
        odata_filter: str | None = None,
        dry_run: bool = False,
        show_progress: bool = True,
    ) -> DeleteReport:
        """Delete files by id, by exact name and by OData filter (the union of the three).

        Args:
            workspace_name: the workspace (default: the client's default workspace).
            file_ids: files to delete by id (an unknown id is reported as failed).
            names: files to delete by exact name (every file of that name).
            odata_filter: files to delete by an OData filter on metadata.
            dry_run: delete nothing; the report lists the files selected for deletion.
            show_progress: show a progress bar.

        Returns:
            The files deleted (or selected, with `dry_run`) and every file that could not be deleted.

        Raises:
            ConfigurationError: nothing is selected, or an id is not a UUID.
            APIError: the API refused to list files or rejected the key. TransportError: unreachable.
        """
        from deepset_cloud._corpus.entry import run_delete_files  # see `download`

        return await run_delete_files(
            self._api,
            self._upload_settings,
            workspace=self._workspace(workspace_name),
            file_ids=file_ids,
            names=names,
            odata_filter=odata_filter,
            dry_run=dry_run,
            show_progress=show_progress,
        )

    async def update_file_meta(
        self,
        *,
        workspace_name: str = DEFAULT_WORKSPACE_NAME,
        meta_by_file_id: dict[UUID, dict[str, Any]] | None = None,
        show_progress: bool = False,
    ) -> MetaUpdateReport:
        """Merge metadata into files: `{file_id: {key: value}}`; the value "None" removes a key.

        Args:
            workspace_name: the workspace (default: the client's default workspace).
            meta_by_file_id: for each file id, the keys to set (merged into the existing metadata).
            show_progress: show a progress bar.

        Returns:
            How many files were updated and every file that was not, with the API's reason.

        Raises:
            ConfigurationError: `meta_by_file_id` is missing, an id is not a UUID, or a value is not a
                JSON-serialisable dict.
            APIError: the API rejected the key. TransportError: the API could not be reached.
        """
        from deepset_cloud._corpus.entry import run_update_file_meta  # see `download`

        return await run_update_file_meta(
            self._api,
            workspace=self._workspace(workspace_name),
            meta_by_file_id=meta_by_file_id,
            show_progress=show_progress,
        )


def _user_view(file: File) -> File:
    """The file with sync's content hash hidden from its metadata (the same object when there is none)."""
    meta = strip_reserved(file.meta)
    return file if meta is file.meta else attrs.evolve(file, meta=meta)


def _as_list_of_paths(paths: object) -> list[Any]:
    # One folder or file given bare (`paths="corpus"`) means that one, not its characters.
    if isinstance(paths, (str, os.PathLike)):
        return [paths]
    items: list[Any] = list(cast("Iterable[Any]", paths))
    return items


def _as_list_of(files: object, kind: type) -> list[Any]:
    """Return `files` as a list, refusing a bare str, bytes or single file with one clear error."""
    if isinstance(files, (str, bytes, DeepsetCloudFile, DeepsetCloudFileBytes)) or not hasattr(
        files, "__iter__"
    ):
        given = type(files).__name__
        raise ConfigurationError(
            f"files must be a list of {kind.__name__}, got a {given}. Wrap a single file in a list: [file]."
        )
    return list(files)


def _check_positive(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ConfigurationError(f"{name} must be a positive number, got {value!r}.")


def _as_uuid(value: object, name: str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a UUID, got {value!r}.") from exc
