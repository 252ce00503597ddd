"""Upload, list and download deepset Cloud files with module-level functions.

Credentials and the workspace come from the arguments, else from `API_KEY`, `API_URL` and
`DEFAULT_WORKSPACE_NAME` in the environment, `./.env` or `~/.deepset-cloud/.env`, read at each call.
Calls with the same credentials share one connection pool.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from contextlib import aclosing
from pathlib import Path
from uuid import UUID

from deepset_cloud._config import DEFAULT_WORKSPACE_NAME, hide_key
from deepset_cloud.async_client.client_cache import cached_client
from deepset_cloud.models import (
    DeepsetCloudFile,
    DeepsetCloudFileBytes,
    DownloadReport,
    File,
    UploadReport,
    UploadSessionDetail,
    UploadSessionStatus,
    WriteMode,
)

__all__ = [
    "DEFAULT_WORKSPACE_NAME",
    "download",
    "get_upload_session",
    "list_files",
    "list_upload_sessions",
    "upload",
    "upload_bytes",
    "upload_file_paths",
    "upload_texts",
]


async def list_files(
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    name: str | None = None,
    content: str | None = None,
    odata_filter: str | None = None,
    batch_size: int = 100,
    timeout_s: int = 300,
) -> AsyncGenerator[list[File], None]:
    """List all files in a workspace, page by page.

    Args:
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace to list the files from.
        name: Only files whose name contains this text.
        content: Only files whose content matches this text (older servers only).
        odata_filter: An OData filter on file metadata, e.g. `category eq 'news'`.
        batch_size: Files per page.
        timeout_s: The longest time the whole listing may take, in seconds.

    Returns:
        A generator of pages; each page is a list of `File`.

    Raises:
        ConfigurationError: No API key or workspace is configured, or an argument is invalid.
        RequestTimeout: The listing took longer than `timeout_s`.
        APIError: The API refused the request (e.g. `AuthenticationError` for a bad key).
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    pages = client.list_files(
        workspace_name=workspace_name,
        name=name,
        content=content,
        odata_filter=odata_filter,
        batch_size=batch_size,
        timeout_s=timeout_s,
    )
    async with aclosing(pages):
        async for page in pages:
            yield page


async def list_upload_sessions(
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    is_expired: bool | None = None,
    batch_size: int = 100,
    timeout_s: int = 300,
) -> AsyncGenerator[list[UploadSessionDetail], None]:
    """List the upload sessions of a workspace, page by page.

    Args:
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace to list the upload sessions from.
        is_expired: Only expired (True) or only unexpired (False) sessions; None lists all.
        batch_size: Sessions per page.
        timeout_s: The longest time the whole listing may take, in seconds.

    Returns:
        A generator of pages; each page is a list of `UploadSessionDetail`.

    Raises:
        ConfigurationError: No API key or workspace is configured, or an argument is invalid.
        RequestTimeout: The listing took longer than `timeout_s`.
        APIError: The API refused the request.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    pages = client.list_upload_sessions(
        workspace_name=workspace_name, is_expired=is_expired, batch_size=batch_size, timeout_s=timeout_s
    )
    async with aclosing(pages):
        async for page in pages:
            yield page


async def get_upload_session(
    session_id: UUID,
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
) -> UploadSessionStatus:
    """Get the status of an upload session.

    Args:
        session_id: ID of the upload session to get the status for.
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace of the upload session.

    Returns:
        The session's status with its ingestion counts.

    Raises:
        ConfigurationError: No API key or workspace is configured, or `session_id` is not a UUID.
        NotFoundError: The session or the workspace does not exist.
        APIError: The API refused the request.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    return await client.get_upload_session(session_id, workspace_name=workspace_name)


async def upload_file_paths(
    file_paths: list[Path],
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    write_mode: WriteMode = WriteMode.KEEP,
    blocking: bool = True,
    timeout_s: int = 300,
    show_progress: bool = True,
) -> UploadReport:
    """Upload files to deepset Cloud, with their `<name>.meta.json` metadata sidecars if listed too.

    Args:
        file_paths: List of file paths to upload.
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace to upload the files to.
        write_mode: What happens when a file name already exists in the workspace.
        blocking: Whether to wait until the files are ingested.
        timeout_s: The longest wait for ingestion when `blocking`, in seconds.
        show_progress: Whether to show progress bars.

    Returns:
        What was uploaded, skipped and failed, and the ingestion counts when `blocking`.

    Raises:
        ConfigurationError: A path does not exist, a sidecar is invalid, or no API key or workspace is set.
        IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
        APIError: The API refused to open or close an upload session, or rejected the API key.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    return await client.upload_file_paths(
        file_paths,
        workspace_name=workspace_name,
        write_mode=write_mode,
        blocking=blocking,
        timeout_s=timeout_s,
        show_progress=show_progress,
    )


async def upload(
    paths: list[Path],
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    write_mode: WriteMode = WriteMode.KEEP,
    blocking: bool = True,
    timeout_s: int = 300,
    show_progress: bool = True,
    recursive: bool = False,
    desired_file_types: list[str] | None = None,
    enable_parallel_processing: bool = False,
    safe_mode: bool = False,
) -> UploadReport:
    """Upload files and folders to deepset Cloud, with their `<name>.meta.json` metadata sidecars.

    Args:
        paths: Files and folders to upload.
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace to upload the files to.
        write_mode: What happens when a file name already exists in the workspace.
        blocking: Whether to wait until the files are ingested.
        timeout_s: The longest wait for ingestion when `blocking`, in seconds.
        show_progress: Whether to show progress bars.
        recursive: Whether to include files in subfolders.
        desired_file_types: Only upload files with these extensions, e.g. `[".txt", ".pdf"]`.
        enable_parallel_processing: Let the server ingest the files in parallel.
        safe_mode: One upload at a time with more retries, for unreliable networks.

    Returns:
        What was uploaded, skipped and failed, and the ingestion counts when `blocking`.

    Raises:
        ConfigurationError: A path does not exist, a sidecar is invalid, or no API key or workspace is set.
        IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
        APIError: The API refused to open or close an upload session, or rejected the API key.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    return await client.upload(
        paths,
        workspace_name=workspace_name,
        write_mode=write_mode,
        blocking=blocking,
        timeout_s=timeout_s,
        show_progress=show_progress,
        recursive=recursive,
        desired_file_types=desired_file_types,
        enable_parallel_processing=enable_parallel_processing,
        safe_mode=safe_mode,
    )


async def upload_texts(
    files: list[DeepsetCloudFile],
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    write_mode: WriteMode = WriteMode.KEEP,
    blocking: bool = True,
    timeout_s: int = 300,
    show_progress: bool = True,
    enable_parallel_processing: bool = False,
) -> UploadReport:
    """Upload texts to deepset Cloud, each under its name and with its metadata.

    Args:
        files: List of DeepsetCloudFiles to upload.
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace to upload the files to.
        write_mode: What happens when a file name already exists in the workspace.
        blocking: Whether to wait until the files are ingested.
        timeout_s: The longest wait for ingestion when `blocking`, in seconds.
        show_progress: Whether to show progress bars.
        enable_parallel_processing: Let the server ingest the files in parallel.

    Returns:
        What was uploaded and failed, and the ingestion counts when `blocking`.

    Raises:
        ConfigurationError: A file has no name, is of the wrong type or has metadata that is not a
            JSON-serialisable dict, a name ends with `.meta.json` (reserved for metadata in session
            uploads), or no API key or workspace is configured; raised before any request.
        IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
        APIError: The API refused to open or close an upload session, or rejected the API key.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    return await client.upload_texts(
        files,
        workspace_name=workspace_name,
        write_mode=write_mode,
        blocking=blocking,
        timeout_s=timeout_s,
        show_progress=show_progress,
        enable_parallel_processing=enable_parallel_processing,
    )


async def upload_bytes(
    files: list[DeepsetCloudFileBytes],
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    write_mode: WriteMode = WriteMode.KEEP,
    blocking: bool = True,
    timeout_s: int | None = None,
    show_progress: bool = True,
    enable_parallel_processing: bool = False,
) -> UploadReport:
    """Upload bytes to deepset Cloud, each under its name and with its metadata.

    Args:
        files: List of DeepsetCloudFileBytes to upload.
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        workspace_name: Name of the workspace to upload the files to.
        write_mode: What happens when a file name already exists in the workspace.
        blocking: Whether to wait until the files are ingested.
        timeout_s: The longest wait for ingestion when `blocking`, in seconds (None: no limit).
        show_progress: Whether to show progress bars.
        enable_parallel_processing: Let the server ingest the files in parallel.

    Returns:
        What was uploaded and failed, and the ingestion counts when `blocking`.

    Raises:
        ConfigurationError: A file has no name, is of the wrong type or has metadata that is not a
            JSON-serialisable dict, a name ends with `.meta.json` (reserved for metadata in session
            uploads), or no API key or workspace is configured; raised before any request.
        IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
        APIError: The API refused to open or close an upload session, or rejected the API key.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    return await client.upload_bytes(
        files,
        workspace_name=workspace_name,
        write_mode=write_mode,
        blocking=blocking,
        timeout_s=timeout_s,
        show_progress=show_progress,
        enable_parallel_processing=enable_parallel_processing,
    )


async def download(
    workspace_name: str = DEFAULT_WORKSPACE_NAME,
    file_dir: Path | str | None = None,
    name: str | None = None,
    odata_filter: str | None = None,
    include_meta: bool = True,
    batch_size: int = 50,
    api_key: str | None = None,
    api_url: str | None = None,
    show_progress: bool = True,
    timeout_s: int | None = None,
    safe_mode: bool = False,
) -> DownloadReport:
    """Download the files of a workspace (optionally filtered) into a folder.

    Files keep their names; a name that exists already gets a suffix (`report_1.txt`). Names from the
    server are sanitised so nothing is ever written outside `file_dir`. A file that fails is reported,
    and the others are still downloaded.

    Args:
        workspace_name: Name of the workspace to download the files from.
        file_dir: The folder to download into (created if missing; default: the current folder).
        name: Only files whose name contains this text.
        odata_filter: An OData filter on file metadata, e.g. `category eq 'news'`.
        include_meta: Whether to save each file's metadata as `<name>.meta.json`.
        batch_size: Files per listing page (the files of a page download concurrently).
        api_key: deepset Cloud API key to use for authentication.
        api_url: API URL to use.
        show_progress: Whether to show a progress bar.
        timeout_s: The longest time the whole download may take, in seconds (None: no limit).
        safe_mode: One download at a time, for unreliable networks.

    Returns:
        The saved file paths and every file that failed, with its reason.

    Raises:
        ConfigurationError: No API key or workspace is configured, or `file_dir` is not a folder.
        RequestTimeout: The download took longer than `timeout_s`.
        APIError: The API refused to list the files.
        TransportError: The API could not be reached.
    """
    api_key = hide_key(api_key)  # tracebacks show frames' locals
    client = cached_client(api_key, api_url)
    return await client.download(
        workspace_name=workspace_name,
        file_dir=file_dir,
        name=name,
        odata_filter=odata_filter,
        include_meta=include_meta,
        batch_size=batch_size,
        show_progress=show_progress,
        timeout_s=timeout_s,
        safe_mode=safe_mode,
    )
