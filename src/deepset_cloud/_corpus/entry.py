"""The entry points behind `sync`, `delete_files` and `update_file_meta`: check the arguments, then run.

The clients call these with their endpoint layer and settings, so the public methods stay one call each.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from uuid import UUID

from deepset_cloud._corpus.deletion import check_selectors, delete_files
from deepset_cloud._corpus.guard import validate_max_delete
from deepset_cloud._corpus.hashcache import default_cache_dir
from deepset_cloud._corpus.metaupdate import check_meta_by_file_id, update_meta_batches
from deepset_cloud._corpus.run import SyncOptions, sync_corpus
from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.storage import StorageClient
from deepset_cloud._upload.discovery import normalize_file_types
from deepset_cloud._upload.options import UploadOptions, UploadSettings, resolve_concurrency
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import DeleteReport, MetaUpdateReport, SyncReport, WriteMode

__all__ = ["run_delete_files", "run_sync", "run_update_file_meta"]


async def run_sync(
    api: DeepsetCloudAPI,
    storage: StorageClient,
    settings: UploadSettings,
    *,
    workspace: str,
    paths: object,
    recursive: bool,
    desired_file_types: list[str] | None,
    delete: bool,
    dry_run: bool,
    blocking: bool,
    timeout_s: float | None,
    show_progress: bool,
    max_delete: object,
    relative_names: bool,
    storage_options: dict[str, Any] | None = None,
) -> SyncReport:
    """Check the arguments of `sync` and run it (see `AsyncClient.sync`)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    if not isinstance(paths, (list, tuple)) or not all(isinstance(p, (str, Path)) for p in paths):
        raise ConfigurationError(f"paths must be a list of paths, got {paths!r}")
    if not paths:
        raise ConfigurationError("paths is empty: name the files and folders to sync")
    options = SyncOptions(
        recursive=recursive,
        file_types=normalize_file_types(desired_file_types),
        delete=delete,
        dry_run=dry_run,
        max_delete=validate_max_delete(max_delete),
        relative_names=relative_names,
        cache_dir=default_cache_dir(),
        storage_options=storage_options,
    )
    upload = UploadOptions(
        write_mode=WriteMode.OVERWRITE,
        blocking=blocking,
        timeout_s=timeout_s,
        show_progress=show_progress,
        settings=settings,
        target_url=api.transport.api_url,  # fewer posts in flight when it goes through a proxy
    )
    return await sync_corpus(
        api, storage, workspace=workspace, paths=list(paths), options=options, upload=upload
    )


async def run_delete_files(
    api: DeepsetCloudAPI,
    settings: UploadSettings,
    *,
    workspace: str,
    file_ids: object,
    names: object,
    odata_filter: object,
    dry_run: bool,
    show_progress: bool,
) -> DeleteReport:
    """Check the selectors of `delete_files` and run it (see `AsyncClient.delete_files`)."""
    ids, name_list, text = check_selectors(file_ids, names, odata_filter)
    return await delete_files(
        api,
        workspace,
        file_ids=ids,
        names=name_list,
        odata_filter=text,
        dry_run=dry_run,
        concurrency=resolve_concurrency(settings, safe_mode=False, target_url=api.transport.api_url),
        show_progress=show_progress,
    )


async def run_update_file_meta(
    api: DeepsetCloudAPI, *, workspace: str, meta_by_file_id: object, show_progress: bool
) -> MetaUpdateReport:
    """Check `meta_by_file_id` and send it in batches (see `AsyncClient.update_file_meta`)."""
    checked: dict[UUID, dict[str, object]] = check_meta_by_file_id(meta_by_file_id)
    updated, failed = await update_meta_batches(
        api, workspace, checked.items(), total=len(checked), show_progress=show_progress
    )
    return MetaUpdateReport(updated=updated, failed=tuple(failed))
