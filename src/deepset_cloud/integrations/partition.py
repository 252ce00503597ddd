"""Upload one partition of records from any engine's worker; merge the results on the driver.

The engine-agnostic piece behind the Ray sink, also usable from Dask, Spark or plain processes:

```python
import dask.bag as db
from deepset_cloud.integrations.partition import PartitionResult, UploadTarget, finish, upload_partition

target = UploadTarget(workspace_name="prod")  # API key and URL from the arguments or the environment
records = db.from_sequence(
    [("a.txt", b"text of a", {"lang": "en"}), ("b.pdf", "s3://bucket/docs/b.pdf", None)], npartitions=2
)
results = records.map_partitions(lambda part: [upload_partition(part, target)]).compute()
report = finish(PartitionResult.merge(results), target, blocking=True)
```

Each call uploads its records through upload sessions (chunked under the per-session file limit, always
closed, one open session per call) and returns a small, picklable `PartitionResult`. A record's content
is bytes, or the fsspec URL of an object, streamed from object storage to the storage posts without a
local copy. The default write mode is OVERWRITE, so a partition that the engine runs again (after a
worker died) replaces its files instead of duplicating them. When the account's open-session limit is
reached, a call waits for a free session (up to `UploadTarget.session_wait_s`) instead of failing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any
from uuid import UUID

import attrs

from deepset_cloud import _portal
from deepset_cloud._config import DEFAULT_WORKSPACE_NAME
from deepset_cloud._http.storage import StorageClient
from deepset_cloud._progress import ProgressBar
from deepset_cloud._upload.options import (
    Bundle,
    JsonMeta,
    PipelineStats,
    UploadObject,
    UploadTally,
    resolve_concurrency,
    resolve_retry,
)
from deepset_cloud._upload.sessions import SessionUploader
from deepset_cloud._upload.sources import RemoteObject, StorageOptions, is_url, open_filesystem
from deepset_cloud.async_client.client import AsyncClient
from deepset_cloud.errors import ConfigurationError, DeepsetCloudError
from deepset_cloud.integrations._patient import WaitForSessionSlot
from deepset_cloud.models import FileUploadResult, SkippedFile, UploadReport, WriteMode

__all__ = [
    "PartitionResult",
    "Record",
    "UploadTarget",
    "finish",
    "finish_async",
    "upload_partition",
    "upload_partition_async",
]

META_SUFFIX = ".meta.json"


@attrs.frozen(kw_only=True)
class Record:
    """One file to upload: its name in the workspace, its content, and its metadata.

    Attributes:
        name: the file name in the workspace (must not end with `.meta.json`).
        content: the bytes of the file, or the fsspec URL of an object to stream (`s3://bucket/a.pdf`).
        meta: the file's metadata, or None.
    """

    name: str
    content: bytes | str
    meta: Mapping[str, Any] | None = None


RecordLike = Record | tuple[str, bytes | str] | tuple[str, bytes | str, Mapping[str, Any] | None]
"""A `Record`, or a `(name, content)` or `(name, content, meta)` tuple."""


@attrs.frozen(kw_only=True)
class UploadTarget:
    """Where and how partitions are uploaded; picklable, so it travels to the workers.

    Attributes:
        workspace_name: the target workspace (default: `DEFAULT_WORKSPACE_NAME` from the environment).
        api_key: the API key (default: `API_KEY` from the worker's environment). Never shown in a repr.
        api_url: the API URL (default: `API_URL` from the worker's environment).
        write_mode: what happens to an existing name. OVERWRITE (the default) makes re-running a
            partition safe: it replaces what the first run stored instead of duplicating it.
        storage_options: fsspec options for URL contents (e.g. S3 credentials). Never shown in a repr.
        max_files_per_session: objects (files plus metadata) per session before a new one is opened.
        s3_concurrency: parallel storage posts per partition (default 32).
        session_wait_s: how long a partition waits for a free session when the account's open-session
            limit is reached (it retries with backoff), before it fails.
    """

    workspace_name: str | None = None
    api_key: str | None = attrs.field(default=None, repr=False)
    api_url: str | None = None
    write_mode: WriteMode = WriteMode.OVERWRITE
    storage_options: dict[str, Any] | None = attrs.field(default=None, repr=False)
    max_files_per_session: int = attrs.field(default=50_000, validator=attrs.validators.ge(2))
    s3_concurrency: int | None = None
    session_wait_s: float = attrs.field(default=900.0, validator=attrs.validators.ge(0))

    def client(self) -> AsyncClient:
        """Return a new `AsyncClient` for this target (close it after use)."""
        return AsyncClient(
            self.api_key,
            self.api_url,
            self.workspace_name,
            s3_concurrency=self.s3_concurrency,
            max_files_per_session=self.max_files_per_session,
        )


@attrs.frozen(kw_only=True)
class PartitionResult:
    """What one or more partitions uploaded: small, picklable, and mergeable.

    Attributes:
        report: the upload report of the partitions (without ingestion counts).
        session_files: for each session used, the number of files it stored (for the ingestion wait).
    """

    report: UploadReport
    session_files: tuple[tuple[UUID, int], ...] = ()

    @classmethod
    def merge(cls, results: Iterable[PartitionResult]) -> PartitionResult:
        """Combine the results of many partitions into one."""
        results = list(results)
        failed: list[FileUploadResult] = []
        skipped: list[SkippedFile] = []
        session_files: list[tuple[UUID, int]] = []
        for result in results:
            failed.extend(result.report.failed)
            skipped.extend(result.report.skipped)
            session_files.extend(result.session_files)
        return cls(
            report=UploadReport(
                total_files=sum(result.report.total_files for result in results),
                successful_upload_count=sum(result.report.successful_upload_count for result in results),
                failed_upload_count=len(failed),
                failed=tuple(failed),
                skipped=tuple(skipped),
                session_ids=tuple(session_id for session_id, _ in session_files),
            ),
            session_files=tuple(session_files),
        )


def upload_partition(records: Iterable[RecordLike], target: UploadTarget) -> PartitionResult:
    """Upload one partition of records (blocking; runs on the SDK's event loop thread).

    Args:
        records: `Record`s or `(name, content[, meta])` tuples; content is bytes or an fsspec URL.
        target: where and how to upload.

    Returns:
        What this partition uploaded, to merge with the other partitions' results.

    Raises:
        ConfigurationError: a record is invalid (every offender named, before any request).
        DeepsetCloudError: no session could be opened (e.g. the open-session limit stayed reached
            for `session_wait_s`) or closed, or the API key was rejected.
    """
    return _portal.run(upload_partition_async, records, target)


async def upload_partition_async(records: Iterable[RecordLike], target: UploadTarget) -> PartitionResult:
    """Upload one partition of records; the async twin of `upload_partition`."""
    items = _validate([_as_record(index, item) for index, item in enumerate(records)])
    if not items:
        return PartitionResult(
            report=UploadReport(total_files=0, successful_upload_count=0, failed_upload_count=0)
        )
    async with target.client() as client:
        workspace = client._workspace(DEFAULT_WORKSPACE_NAME)
        settings = attrs.evolve(client._upload_settings, max_open_sessions=1)
        tally = UploadTally()
        uploader = SessionUploader(
            WaitForSessionSlot(client._api, target.session_wait_s),
            StorageClient(await client._transport.http_session()),
            workspace=workspace,
            write_mode=target.write_mode,
            enable_parallel_processing=False,
            concurrency=resolve_concurrency(settings, safe_mode=False, target_url=client.api_url),
            retry=resolve_retry(settings, safe_mode=False),
            settings=settings,
            tally=tally,
            progress=ProgressBar(enabled=False, total=0, description="Upload"),
            stats=PipelineStats(),
            unique_names=True,
        )
        try:
            slots = await uploader.run(_bundles(items, target.storage_options))
        except DeepsetCloudError as exc:
            exc.upload_report = _report(tally, uploader.session_ids)
            raise
    session_files = tuple((slot.session.session_id, slot.raw_uploaded) for slot in slots)
    return PartitionResult(
        report=_report(tally, tuple(session_id for session_id, _ in session_files)),
        session_files=session_files,
    )


def finish(
    result: PartitionResult, target: UploadTarget, *, blocking: bool = True, timeout_s: float | None = 300
) -> UploadReport:
    """Return the merged report; with `blocking`, after waiting until the files are ingested.

    Raises:
        IngestionTimeoutError: `blocking` and ingestion did not finish within `timeout_s`.
    """
    return _portal.run(finish_async, result, target, blocking=blocking, timeout_s=timeout_s)


async def finish_async(
    result: PartitionResult, target: UploadTarget, *, blocking: bool = True, timeout_s: float | None = 300
) -> UploadReport:
    """The async twin of `finish`."""
    from deepset_cloud._upload.ingestion import wait_for_ingestion

    if not blocking or not result.session_files:
        return result.report
    expected: dict[UUID, int] = {}
    for session_id, files in result.session_files:
        expected[session_id] = expected.get(session_id, 0) + files
    async with target.client() as client:
        ingestion = await wait_for_ingestion(
            client._api,
            client._workspace(DEFAULT_WORKSPACE_NAME),
            expected,
            timeout_s=timeout_s,
            settings=client._upload_settings,
            upload_report=result.report,
        )
    return attrs.evolve(result.report, ingestion=ingestion)


def _as_record(index: int, item: object) -> Record | str:
    """Return the record, or why item `index` is not one."""
    if isinstance(item, Record):
        return item
    if isinstance(item, tuple) and len(item) in (2, 3):
        name, content, *rest = item
        meta = rest[0] if rest else None
        return Record(name=name, content=content, meta=meta)
    return f"records[{index}] is a {type(item).__name__}, not a Record or a (name, content[, meta]) tuple"


def _validate(items: Sequence[Record | str]) -> list[Record]:
    problems: list[str] = []
    records: list[Record] = []
    for index, item in enumerate(items):
        if isinstance(item, str):
            problems.append(item)
            continue
        problems.extend(_problems(index, item))
        records.append(item)
    if problems:
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise ConfigurationError(f"cannot upload {len(problems)} record(s): {shown}{more}")
    return records


def _problems(index: int, record: Record) -> Iterator[str]:
    name: object = record.name
    content: object = record.content
    meta: object = record.meta
    label = f"records[{index}] ({name!r})"
    if not isinstance(name, str) or not name.strip():
        yield f"{label} has no name"
    elif name.endswith(META_SUFFIX):
        yield f"{label}: names ending in {META_SUFFIX!r} are reserved for metadata"
    if isinstance(content, str) and not is_url(content):
        yield f"{label} content is a str but not a URL (pass text as bytes)"
    elif not isinstance(content, (str, bytes)):
        yield f"{label} content is a {type(content).__name__}, not bytes or a URL"
    if meta is None:
        return
    if not isinstance(meta, Mapping):
        yield f"{label} meta is a {type(meta).__name__}, not a dict"
        return
    try:
        json.dumps(dict(meta))
    except (TypeError, ValueError) as exc:
        yield f"{label} meta is not JSON-serialisable: {exc}"


def _bundles(records: Sequence[Record], storage_options: StorageOptions | None) -> Iterator[Bundle]:
    filesystems: dict[str, tuple[Any, str]] = {}
    for record in records:
        source: bytes | RemoteObject
        if isinstance(record.content, bytes):
            source = record.content
        else:
            # One filesystem per protocol; creating it does no I/O, the object's size is asked when posted.
            protocol = record.content.split("://", 1)[0]
            if protocol not in filesystems:
                filesystems[protocol] = open_filesystem(record.content, storage_options)
            fs, _ = filesystems[protocol]
            source = RemoteObject(
                fs=fs, path=fs._strip_protocol(record.content), url=record.content, size=None
            )
        sidecar = (
            None
            if record.meta is None
            else UploadObject(record.name + META_SUFFIX, JsonMeta(dict(record.meta)))
        )
        yield Bundle(file=UploadObject(record.name, source), sidecar=sidecar)


def _report(tally: UploadTally, session_ids: tuple[UUID, ...]) -> UploadReport:
    return UploadReport(
        total_files=tally.attempted,
        successful_upload_count=tally.succeeded,
        failed_upload_count=len(tally.failed),
        failed=tuple(tally.failed),
        session_ids=session_ids,
    )
