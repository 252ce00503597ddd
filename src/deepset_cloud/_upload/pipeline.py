"""The upload pipeline's entry points: paths and in-memory files in, an `UploadReport` out.

discover paths and validate sidecars (before any request; one folder alone streams instead, see
`folder_stream`) -> small uploads go direct (`POST files`),
larger ones through sessions (`SessionUploader`: bounded worker pool, rollover, sessions always closed)
-> if `blocking`, poll ingestion with an adaptive interval until done or `timeout_s`.

Every input ends up in exactly one place of the report: uploaded (`successful_upload_count`), failed
with its error (`failed`), or skipped with a reason (`skipped`).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterable, Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import anyio
import attrs

from deepset_cloud._fileio import LocalPath
from deepset_cloud._progress import ProgressBar
from deepset_cloud._upload.direct import DirectItem, upload_direct
from deepset_cloud._upload.discovery import META_SUFFIX, Discovery, discover_paths, normalize_file_types
from deepset_cloud._upload.folder_stream import FolderFeed, FolderScan, streamable_folder
from deepset_cloud._upload.ingestion import failed_ingestion, wait_for_ingestion
from deepset_cloud._upload.meta_json import dump_json
from deepset_cloud._upload.names import name_problem
from deepset_cloud._upload.options import (
    DIRECT_UPLOAD_THRESHOLD,
    Bundle,
    JsonMeta,
    PipelineStats,
    UploadAPI,
    UploadObject,
    UploadOptions,
    UploadSettings,
    UploadTally,
    logger,
    resolve_concurrency,
    resolve_retry,
)
from deepset_cloud._upload.sessions import SessionUploader
from deepset_cloud._upload.sources import RemoteObject, StorageOptions
from deepset_cloud.errors import ConfigurationError, DeepsetCloudError
from deepset_cloud.models import (
    DeepsetCloudFile,
    DeepsetCloudFileBytes,
    IngestionCounts,
    SkippedFile,
    UploadReport,
)

if TYPE_CHECKING:
    from deepset_cloud._http.storage import StorageClient

__all__ = [
    "DIRECT_UPLOAD_THRESHOLD",
    "PipelineStats",
    "PreparedFile",
    "UploadOptions",
    "UploadSettings",
    "upload_memory_files",
    "upload_paths",
    "upload_prepared",
    "wait_for_ingestion",
]

_DEFAULT_OPTIONS = UploadOptions()


async def upload_paths(
    api: UploadAPI,
    storage: StorageClient,
    *,
    workspace: str,
    paths: Sequence[Path | str],
    recursive: bool = False,
    desired_file_types: Sequence[str] | None = None,
    options: UploadOptions = _DEFAULT_OPTIONS,
    storage_options: StorageOptions | None = None,
) -> UploadReport:
    """Upload files and folders (with their `.meta.json` sidecars) to a workspace.

    Args:
        api: the deepset Cloud endpoints.
        storage: posts objects to the sessions' presigned storage URLs.
        workspace: the workspace to upload to.
        paths: files and folders, and fsspec URLs of objects and prefixes (`s3://bucket/docs/`).
        recursive: walk folders into all levels.
        desired_file_types: suffixes to upload (with or without dot, any case); None: the default types
            for files found in folders, and any type for files given explicitly.
        options: write mode, blocking, progress, safe mode and tuning (see `UploadOptions`).
        storage_options: options of the fsspec filesystems of URLs (e.g. credentials).

    Returns:
        What was uploaded, what failed and why, what was skipped and why.

    Raises:
        ConfigurationError: a path does not exist or sidecars are broken (before any request; for one
            folder of more than 20 objects, before any session is closed, and none is).
        IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
        DeepsetCloudError: a session could not be created or closed, or the API key was rejected.
    """
    file_types = normalize_file_types(desired_file_types)
    folder = streamable_folder(paths, recursive=recursive)
    if folder is not None:
        return await _upload_folder(api, storage, workspace, FolderScan(folder, file_types), options)
    discovery: Discovery = await anyio.to_thread.run_sync(
        partial(
            discover_paths,
            list(paths),
            recursive=recursive,
            file_types=file_types,
            storage_options=storage_options,
            filter_given_files=desired_file_types is not None,
        )
    )
    logger.info(
        "Found %d file(s) to upload (%d object(s) with sidecars), skipped %d path(s)",
        len(discovery.files),
        discovery.object_count,
        len(discovery.skipped),
    )
    if _goes_direct(options.settings, discovery.object_count, (file.size for file in discovery.files)):
        items = [
            DirectItem(name=file.name, body=file.path, meta=file.sidecar)
            for file in discovery.files
            if isinstance(file.path, Path) and not isinstance(file.sidecar, RemoteObject)
        ]
        # Objects from object storage always take the session path: it streams them to the storage posts.
        if len(items) == len(discovery.files):
            return await _run_direct(api, workspace, items, options, discovery.skipped)
    bundles = (
        Bundle(
            file=UploadObject(file.name, file.path),
            sidecar=None if file.sidecar is None else UploadObject(file.name + META_SUFFIX, file.sidecar),
        )
        for file in discovery.files
    )
    return await _run_sessions(
        api,
        storage,
        workspace=workspace,
        bundles=bundles,
        object_count=discovery.object_count,
        options=options,
        skipped=discovery.skipped,
        unique_names=False,  # discovery already keeps one file per name
    )


async def _upload_folder(
    api: UploadAPI, storage: StorageClient, workspace: str, scan: FolderScan, options: UploadOptions
) -> UploadReport:
    """Upload one folder while it is still being listed (see `folder_stream`)."""
    settings = options.settings
    async with FolderFeed(scan) as feed:
        head, whole = await feed.head(settings.direct_upload_threshold)
        if whole:
            # A small folder is known before any request: broken sidecars fail it before one is sent.
            await feed.wait_checked()
            files = [_paths_of(bundle) for bundle in head]
            objects = sum(bundle.object_count for bundle in head)
            if _goes_direct(settings, objects, (os.stat(path).st_size for path, _ in files)):
                items = [DirectItem(name=path.name, body=path, meta=sidecar) for path, sidecar in files]
                return await _run_direct(api, workspace, items, options, scan.skipped)
        try:
            return await _run_sessions(
                feed.gate(api),
                storage,
                workspace=workspace,
                bundles=feed.batches(head),
                object_count=None,
                options=options,
                skipped=scan.skipped,
                unique_names=False,  # names in one folder are unique
            )
        except ConfigurationError as exc:
            if exc.broken_sidecars:  # no session was closed: nothing of this upload is in the workspace
                exc.upload_report = UploadReport(
                    total_files=0,
                    successful_upload_count=0,
                    failed_upload_count=0,
                    skipped=tuple(scan.skipped),
                )
            raise


def _paths_of(bundle: Bundle) -> tuple[Path, Path | None]:
    file, sidecar = bundle.file.source, None if bundle.sidecar is None else bundle.sidecar.source
    assert isinstance(file, LocalPath)  # a folder's bundles always point at files on disk
    assert sidecar is None or isinstance(sidecar, LocalPath)
    return file.as_path(), None if sidecar is None else sidecar.as_path()


async def upload_memory_files(
    api: UploadAPI,
    storage: StorageClient,
    *,
    workspace: str,
    files: Sequence[DeepsetCloudFile | DeepsetCloudFileBytes],
    options: UploadOptions = _DEFAULT_OPTIONS,
) -> UploadReport:
    """Upload texts and bytes from memory, each with an optional metadata dict.

    Arguments as for `upload_paths`. A file whose `meta` is not None gets a `<name>.meta.json` object on
    the session path. Files with the same name are never put in the same session (the server pairs and
    stores objects by name), so with `WriteMode.KEEP` all of them are kept.

    Raises:
        ConfigurationError: a file has no name or one that cannot be stored (see
            `deepset_cloud._upload.names`; a name ending with `.meta.json` is reserved for metadata), is
            empty, is of the wrong type, or has metadata that is not a JSON-serialisable dict (every
            offender named, before any request).
    """
    _validate_memory_files(files)
    if _goes_direct(options.settings, len(files), (len(_content_of(file)) for file in files)):
        items = [
            DirectItem(name=file.name, body=_as_bytes(_content_of(file)), meta=file.meta) for file in files
        ]
        return await _run_direct(api, workspace, items, options, ())
    return await _run_sessions(
        api,
        storage,
        workspace=workspace,
        bundles=_memory_bundles(files),
        object_count=sum(1 if file.meta is None else 2 for file in files),
        options=options,
        skipped=(),
        unique_names=True,
    )


@attrs.frozen(slots=True)
class PreparedFile:
    """A file (or an object in object storage) whose name and metadata are decided (by `sync`'s plan)."""

    name: str
    path: Path | RemoteObject
    meta: dict[str, Any]


async def upload_prepared(
    api: UploadAPI,
    storage: StorageClient,
    *,
    workspace: str,
    files: Callable[[], Iterator[PreparedFile]],
    file_count: int,
    max_size: int,
    options: UploadOptions = _DEFAULT_OPTIONS,
    from_object_storage: bool = False,
) -> UploadReport:
    """Upload files with unique names and given metadata, without discovery (the caller planned them).

    Args:
        files: makes a fresh iterator over the files (read lazily on the session path).
        file_count: how many files `files` yields.
        max_size: the largest file's size (decides, with the count, between direct and session uploads).
        from_object_storage: some files are objects read by URL: always take the session path, which
            streams them.

    Other arguments and errors as for `upload_paths`. Every file gets its metadata (as a sidecar object
    on the session path).
    """
    if not from_object_storage and _goes_direct(options.settings, file_count, (max_size,)):
        items = [
            DirectItem(name=file.name, body=file.path, meta=file.meta)
            for file in files()
            if isinstance(file.path, Path)
        ]
        return await _run_direct(api, workspace, items, options, ())
    bundles = (
        Bundle(
            file=UploadObject(file.name, file.path),
            sidecar=UploadObject(file.name + META_SUFFIX, JsonMeta(file.meta)),
        )
        for file in files()
    )
    return await _run_sessions(
        api,
        storage,
        workspace=workspace,
        bundles=bundles,
        object_count=2 * file_count,
        options=options,
        skipped=(),
        unique_names=False,  # the plan keeps one file per name
    )


def _goes_direct(settings: UploadSettings, object_count: int, sizes: Iterable[int]) -> bool:
    """Whether an upload is small enough for `POST files`: few objects, none over the size limit."""
    return object_count <= settings.direct_upload_threshold and all(
        size <= settings.direct_upload_max_bytes for size in sizes
    )


def _content_of(file: DeepsetCloudFile | DeepsetCloudFileBytes) -> str | bytes:
    return file.text if isinstance(file, DeepsetCloudFile) else file.file_bytes


def _as_bytes(content: str | bytes) -> bytes:
    return content.encode() if isinstance(content, str) else content


def _memory_bundles(files: Sequence[DeepsetCloudFile | DeepsetCloudFileBytes]) -> Iterator[Bundle]:
    # Lazy: text is encoded (and metadata serialised) only when a worker posts it.
    for file in files:
        sidecar = None if file.meta is None else UploadObject(file.name + META_SUFFIX, JsonMeta(file.meta))
        yield Bundle(file=UploadObject(file.name, _content_of(file)), sidecar=sidecar)


def _validate_memory_files(files: Sequence[Any]) -> None:
    problems = [problem for index, file in enumerate(files) for problem in _memory_file_problems(index, file)]
    if problems:
        raise ConfigurationError(f"cannot upload {len(problems)} file(s): " + "; ".join(problems))


def _memory_file_problems(index: int, file: object) -> Iterator[str]:
    # Checked at run time: callers are not always type-checked, and a bad item must fail before any request.
    if not isinstance(file, (DeepsetCloudFile, DeepsetCloudFileBytes)):
        yield f"files[{index}] is a {type(file).__name__}, not a DeepsetCloudFile(Bytes)"
        return
    name: object = file.name
    content: object = _content_of(file)
    meta: object = file.meta
    label = f"files[{index}] ({name!r})"
    if not isinstance(name, str) or not name.strip():
        yield f"{label} has no name"
    elif (problem := name_problem(name)) is not None:
        yield f"{label} cannot be stored under its name: {problem}"
    elif name.endswith(META_SUFFIX):
        # In a session the server takes every `*.meta.json` object for a sidecar: such a file would vanish.
        # Refused on the direct path too, so a name's fate does not depend on how many files come with it.
        yield f"{label} ends in {META_SUFFIX!r}, which is reserved for metadata"
    if not isinstance(content, (str, bytes)):
        yield f"{label} content is a {type(content).__name__}, not str or bytes"
    elif not content:
        yield f"{label} is empty (0 bytes): deepset Cloud does not ingest empty files"
    if meta is None:
        return
    if not isinstance(meta, dict):
        yield f"{label} meta is a {type(meta).__name__}, not a dict"
        return
    try:
        dump_json(meta)
    except (TypeError, ValueError) as exc:
        yield f"{label} meta is not JSON-serialisable: {exc}"


async def _run_direct(
    api: UploadAPI,
    workspace: str,
    items: Sequence[DirectItem],
    options: UploadOptions,
    skipped: Sequence[SkippedFile],
) -> UploadReport:
    tally = UploadTally()
    enabled = options.show_progress and bool(items)
    with (
        ProgressBar(enabled=enabled, total=len(items), description="Upload") as bar,
        _report_on_abort(tally, skipped, lambda: ()),
    ):
        await upload_direct(
            api,
            workspace=workspace,
            items=items,
            write_mode=options.write_mode,
            concurrency=resolve_concurrency(
                options.settings, safe_mode=options.safe_mode, target_url=options.target_url, to_api=True
            ),
            tally=tally,
            progress=bar,
        )
    return _report(tally, skipped=skipped, session_ids=(), ingestion=None)


async def _run_sessions(
    api: UploadAPI,
    storage: StorageClient,
    *,
    workspace: str,
    bundles: Iterable[Bundle] | AsyncIterable[Sequence[Bundle]],
    object_count: int | None,
    options: UploadOptions,
    skipped: Sequence[SkippedFile],
    unique_names: bool,
) -> UploadReport:
    tally = UploadTally()
    settings, safe_mode = options.settings, options.safe_mode
    with ProgressBar(enabled=options.show_progress, total=object_count, description="Upload") as bar:
        uploader = SessionUploader(
            api,
            storage,
            workspace=workspace,
            write_mode=options.write_mode,
            enable_parallel_processing=options.enable_parallel_processing,
            concurrency=resolve_concurrency(settings, safe_mode=safe_mode, target_url=options.target_url),
            retry=resolve_retry(settings, safe_mode=safe_mode),
            settings=settings,
            tally=tally,
            progress=bar,
            stats=options.stats or PipelineStats(),
            unique_names=unique_names,
        )
        with _report_on_abort(tally, skipped, lambda: uploader.session_ids):
            slots = await uploader.run(bundles)
    session_ids = tuple(slot.session.session_id for slot in slots)
    report = _report(tally, skipped=skipped, session_ids=session_ids, ingestion=None)
    if not options.blocking:
        return report
    expected = {slot.session.session_id: slot.raw_uploaded for slot in slots}
    # Every file is uploaded by now: an error while waiting (a failed poll, the timeout) carries the report.
    with _report_on_abort(tally, skipped, lambda: session_ids):
        ingestion = await wait_for_ingestion(
            api,
            workspace,
            expected,
            timeout_s=options.timeout_s,
            settings=settings,
            show_progress=options.show_progress,
            upload_report=report,
        )
        failures = await failed_ingestion(api, workspace, session_ids) if ingestion.failed_files else ()
    return attrs.evolve(
        _report(tally, skipped=skipped, session_ids=session_ids, ingestion=ingestion),
        failed_ingestion=failures,
    )


@contextlib.contextmanager
def _report_on_abort(
    tally: UploadTally, skipped: Sequence[SkippedFile], session_ids: Callable[[], tuple[UUID, ...]]
) -> Iterator[None]:
    """Attach what was uploaded before an abort to the error, as `upload_report`: nothing goes unaccounted."""
    try:
        yield
    except DeepsetCloudError as exc:
        exc.upload_report = _report(tally, skipped=skipped, session_ids=session_ids(), ingestion=None)
        raise
    except BaseException as exc:  # cancelled (Ctrl-C in the sync facade): the portal hands the report on
        exc.upload_report = _report(  # type: ignore[attr-defined]
            tally, skipped=skipped, session_ids=session_ids(), ingestion=None
        )
        raise


def _report(
    tally: UploadTally,
    *,
    skipped: Sequence[SkippedFile],
    session_ids: tuple[UUID, ...],
    ingestion: IngestionCounts | None,
) -> UploadReport:
    return UploadReport(
        total_files=tally.attempted,
        successful_upload_count=tally.succeeded,
        failed_upload_count=len(tally.failed),
        failed=tuple(tally.failed),
        skipped=tuple(skipped),
        session_ids=session_ids,
        ingestion=ingestion,
    )
