"""Run a sync: plan (walk, list, classify), check the delete guard, then upload, update meta, delete.

Order and safety: nothing in the workspace changes before the whole plan is known and the guard passed;
uploads replace with `WriteMode.OVERWRITE`, so a rerun after a kill (even one that left a closed session
waiting for ingestion) never leaves two files with one name; deletions run last and never after a failed
upload or metadata update.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any
from uuid import UUID

import anyio
import attrs

from deepset_cloud._corpus.deletion import delete_by_id
from deepset_cloud._corpus.guard import check_delete_guard
from deepset_cloud._corpus.hashcache import HashCache
from deepset_cloud._corpus.meta import CONTENT_HASH_KEY, meta_patch, split_reserved
from deepset_cloud._corpus.metaupdate import update_meta_batches
from deepset_cloud._corpus.plan import PlanCounts, classify, plan_local, remote_rows
from deepset_cloud._corpus.plandb import Action, PlanDB, PlanRow
from deepset_cloud._corpus.walk import META_SUFFIX
from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.pagination import iterate_file_pages
from deepset_cloud._http.storage import StorageClient
from deepset_cloud._progress import ProgressBar
from deepset_cloud._upload.options import UploadOptions, resolve_concurrency
from deepset_cloud._upload.pipeline import PreparedFile, upload_prepared
from deepset_cloud._upload.sources import shown_path, upload_source
from deepset_cloud.models import (
    PlannedChange,
    SkippedFile,
    SyncFailure,
    SyncReport,
    UploadReport,
    WriteMode,
)

__all__ = ["SyncOptions", "sync_corpus"]

logger = logging.getLogger("deepset_cloud.sync")
LIST_BATCH_SIZE = 1_000
PLANNED_LIMIT = 100_000
"""A dry run lists at most this many changes (memory stays bounded for huge plans); counts are exact."""
_ACTION_WORDS = {
    Action.NEW: "upload",
    Action.CHANGED: "replace",
    Action.META: "update_meta",
    Action.DELETE: "delete",
}


@attrs.frozen(kw_only=True)
class SyncOptions:
    """What one sync does beyond uploading (see `sync` for the meaning of each)."""

    recursive: bool = False
    file_types: frozenset[str]
    delete: bool = False
    dry_run: bool = False
    max_delete: int | float
    relative_names: bool = False
    cache_dir: Path | None = None
    storage_options: dict[str, Any] | None = attrs.field(default=None, repr=False)  # may hold secrets


async def sync_corpus(
    api: DeepsetCloudAPI,
    storage: StorageClient,
    *,
    workspace: str,
    paths: list[Path | str],
    options: SyncOptions,
    upload: UploadOptions,
) -> SyncReport:
    """Make `workspace` follow the local corpus at `paths`; return what was (or would be) done.

    Raises:
        ConfigurationError: bad paths, colliding names or broken sidecars (nothing changed).
        DeleteGuardError: more deletions than `max_delete` allows (nothing changed).
        IngestionTimeoutError, APIError, TransportError: as for `upload`; deletions did not run.
    """
    db = await anyio.to_thread.run_sync(PlanDB)
    cache = HashCache(options.cache_dir, options.storage_options)
    started = time.perf_counter()
    try:
        # The walk (a worker thread) and the listing (the event loop) overlap; both only read. Problems
        # with the local files are raised once both are done, before anything in the workspace changes.
        walk = partial(
            plan_local,
            db,
            paths,
            recursive=options.recursive,
            file_types=options.file_types,
            relative_names=options.relative_names,
            storage_options=options.storage_options,
        )
        skipped, remote_files = await _walk_and_list(
            walk, db, api, workspace, show_progress=upload.show_progress
        )
        listed = time.perf_counter()
        counts = await _classify(db, cache, options, show_progress=upload.show_progress)
        logger.debug(
            "Sync planning took %.2f s: walk and listing %.2f s, comparison %.2f s",
            time.perf_counter() - started,
            listed - started,
            time.perf_counter() - listed,
        )
        logger.info(
            "Sync plan for %r: %d new, %d changed, %d metadata-only, %d unchanged, %d to delete",
            workspace,
            counts.new,
            counts.changed,
            counts.meta,
            counts.unchanged,
            counts.delete,
        )
        if options.delete:
            check_delete_guard(counts.delete, remote_files, options.max_delete)
        failed = [SyncFailure(name=item.name, reason=item.reason) for item in counts.unreadable]
        if options.dry_run:
            return _dry_run_report(db, counts, skipped, failed)
        return await _execute(db, api, storage, workspace, counts, skipped, failed, options, upload)
    finally:
        cache.close()
        db.close()


async def _walk_and_list(
    walk: Callable[[], list[SkippedFile]],
    db: PlanDB,
    api: DeepsetCloudAPI,
    workspace: str,
    *,
    show_progress: bool,
) -> tuple[list[SkippedFile], int]:
    """Run the walk and the listing at once; raise the walk's error first (it is the user's to fix)."""
    walked: list[list[SkippedFile]] = []
    listed: list[int] = []
    errors: dict[str, Exception] = {}

    async with anyio.create_task_group() as group:

        async def walk_task() -> None:
            try:
                walked.append(await anyio.to_thread.run_sync(walk))
            except Exception as exc:
                errors["walk"] = exc
                group.cancel_scope.cancel()  # no need to finish the listing

        async def list_task() -> None:
            try:
                listed.append(await _list_into(db, api, workspace, show_progress=show_progress))
            except Exception as exc:
                errors["list"] = exc

        group.start_soon(walk_task)
        group.start_soon(list_task)
    for side in ("walk", "list"):
        if side in errors:
            raise errors[side]
    return walked[0], listed[0]


async def _list_into(db: PlanDB, api: DeepsetCloudAPI, workspace: str, *, show_progress: bool) -> int:
    bar: ProgressBar | None = None
    try:
        async for page in iterate_file_pages(api, workspace, batch_size=LIST_BATCH_SIZE):
            if bar is None:
                bar = ProgressBar(
                    enabled=show_progress and page.total is not None,
                    total=page.total or 0,
                    description="List",
                )
            db.add_remote(remote_rows(list(page.data)))  # a few ms per page: not worth a thread hop
            bar.advance(len(page.data))
    finally:
        if bar is not None:
            bar.close()
    return await anyio.to_thread.run_sync(db.finish_remote)


async def _classify(db: PlanDB, cache: HashCache, options: SyncOptions, *, show_progress: bool) -> PlanCounts:
    total = await anyio.to_thread.run_sync(db.local_file_count)
    with ProgressBar(enabled=show_progress and total > 0, total=total, description="Compare") as bar:
        counts = await anyio.to_thread.run_sync(
            partial(
                classify,
                db,
                cache,
                delete=options.delete,
                file_types=options.file_types,
                advance=bar.advance,
                storage_options=options.storage_options,
            )
        )
        bar.advance_to(total)
    return counts


def _dry_run_report(
    db: PlanDB, counts: PlanCounts, skipped: list[SkippedFile], failed: list[SyncFailure]
) -> SyncReport:
    planned = tuple(
        PlannedChange(
            action=_ACTION_WORDS[row.action],
            name=row.name,
            path=None if row.path is None else shown_path(row.path),
            file_id=None if row.file_id is None else UUID(row.file_id),
        )
        for row in islice(db.planned(*Action), PLANNED_LIMIT)
    )
    total = counts.new + counts.changed + counts.meta + counts.delete
    return SyncReport(
        uploaded=counts.new,
        updated=counts.changed + counts.meta,
        unchanged=counts.unchanged,
        deleted=counts.delete,
        failed=tuple(failed),
        skipped=tuple(skipped),
        dry_run=True,
        planned=planned,
        planned_omitted=total - len(planned),
    )


async def _execute(
    db: PlanDB,
    api: DeepsetCloudAPI,
    storage: StorageClient,
    workspace: str,
    counts: PlanCounts,
    skipped: list[SkippedFile],
    failed: list[SyncFailure],
    options: SyncOptions,
    upload: UploadOptions,
) -> SyncReport:
    new_ok, changed_ok, report = await _upload(
        db, api, storage, workspace, counts, failed, upload, options.storage_options
    )
    meta_ok = 0
    if counts.meta:
        patches = ((UUID(row.file_id or ""), _patch(row)) for row in db.planned(Action.META))
        meta_ok, meta_failed = await update_meta_batches(
            api, workspace, patches, total=counts.meta, show_progress=upload.show_progress
        )
        names = {str(row.file_id): row.name for row in db.planned(Action.META)} if meta_failed else {}
        failed += [
            SyncFailure(name=names.get(str(item.file_id), str(item.file_id)), reason=item.error_message)
            for item in meta_failed
        ]
    deleted, deletion_skipped = 0, None
    if options.delete and counts.delete:
        if failed:
            deletion_skipped = f"{len(failed)} file(s) failed to sync, so no file was deleted"
            logger.warning("Sync of %r: %s", workspace, deletion_skipped)
        else:
            gone = ((UUID(row.file_id or ""), row.name) for row in db.planned(Action.DELETE))
            result = await delete_by_id(
                api,
                workspace,
                gone,
                total=counts.delete,
                missing_ok=True,
                concurrency=resolve_concurrency(
                    upload.settings, safe_mode=upload.safe_mode, target_url=upload.target_url
                ),
                show_progress=upload.show_progress,
            )
            deleted = len(result.deleted)
            failed += [
                SyncFailure(name=item.name or str(item.file_id), reason=item.reason) for item in result.failed
            ]
    return SyncReport(
        uploaded=new_ok,
        updated=changed_ok + meta_ok,
        unchanged=counts.unchanged,
        deleted=deleted,
        failed=tuple(failed),
        skipped=tuple(skipped),
        dry_run=False,
        deletion_skipped=deletion_skipped,
        session_ids=() if report is None else report.session_ids,
        ingestion=None if report is None else report.ingestion,
    )


async def _upload(
    db: PlanDB,
    api: DeepsetCloudAPI,
    storage: StorageClient,
    workspace: str,
    counts: PlanCounts,
    failed: list[SyncFailure],
    upload: UploadOptions,
    storage_options: dict[str, Any] | None,
) -> tuple[int, int, UploadReport | None]:
    """Upload new and changed files; return how many of each are confirmed, and the upload's report."""
    total = counts.new + counts.changed
    if total == 0:
        return 0, 0, None

    def prepared() -> Iterator[PreparedFile]:
        for row in db.planned(Action.NEW, Action.CHANGED):
            path = upload_source(row.path or "", storage_options, row.size)
            yield PreparedFile(name=row.name, path=path, meta=_stored_meta(row))

    report = await upload_prepared(
        api,
        storage,
        workspace=workspace,
        files=prepared,
        file_count=total,
        max_size=db.max_size(Action.NEW, Action.CHANGED),
        options=attrs.evolve(upload, write_mode=WriteMode.OVERWRITE),
        from_object_storage=db.has_url_paths(),
    )
    failures: dict[str, str] = {}
    for result in report.failed:
        name = result.file_name  # a failed sidecar fails its file
        name = name[: -len(META_SUFFIX)] if name.endswith(META_SUFFIX) else name
        failures.setdefault(name, result.reason or "upload failed")
    if report.ingestion is not None and report.ingestion.failed_files:
        # The session counts say how many failed, not which: list the workspace again to find them.
        for row in await _unconfirmed(db, api, workspace):
            failures.setdefault(row.name, "not in the workspace after ingestion (the server rejected it)")
    new_failed = sum(1 for name in failures if db.action_of(name) is Action.NEW)
    failed += [SyncFailure(name=name, reason=reason) for name, reason in failures.items()]
    return counts.new - new_failed, counts.changed - (len(failures) - new_failed), report


async def _unconfirmed(db: PlanDB, api: DeepsetCloudAPI, workspace: str) -> list[PlanRow]:
    async for page in iterate_file_pages(api, workspace, batch_size=LIST_BATCH_SIZE):
        db.add_present((file.name, split_reserved(file.meta)[0]) for file in page.data)
    return await anyio.to_thread.run_sync(lambda: list(db.unconfirmed_uploads()))


def _stored_meta(row: PlanRow) -> dict[str, object]:
    meta: dict[str, object] = json.loads(row.meta or "{}")
    meta[CONTENT_HASH_KEY] = row.content_hash
    return meta


def _patch(row: PlanRow) -> dict[str, object]:
    return meta_patch(json.loads(row.meta or "{}"), json.loads(row.remote_meta or "{}"))
