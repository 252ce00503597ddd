"""A Ray Data sink that uploads a dataset's rows to a deepset Cloud workspace (extra `ray`).

```python
import ray
from deepset_cloud.integrations.ray import DeepsetCloudDatasink

ds = ray.data.read_binary_files("s3://bucket/docs/", include_paths=True)
sink = DeepsetCloudDatasink(workspace_name="prod", blocking=True)
ds.write_datasink(sink)
sink.report  # one UploadReport for the whole job
```

Each write task turns its rows into records and uploads them with the engine-agnostic partition
uploader (`deepset_cloud.integrations.partition`): through upload sessions, chunked under the
per-session file limit, always closed, one open session per task, waiting for a free one while the
account's open-session limit is reached. The tasks' small results are merged on the driver into
`sink.report`, after waiting for ingestion when `blocking`.

Rows: the file name is the base name of `name_column` (`path`, as `read_binary_files(...,
include_paths=True)` writes it); the content is `content_column` (bytes), or the fsspec URL in
`url_column` (streamed from object storage, never copied); metadata comes from `meta_column` (a dict or
a JSON object text) when the dataset has it, or from sidecar rows named `<name>.meta.json` in the same
write task. A sidecar row whose file is not in the same task is reported as failed, never dropped.

With the default OVERWRITE write mode a task that Ray runs again after its worker died replaces the
files of its first attempt instead of duplicating them.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from ray.data.block import BlockAccessor
from ray.data.datasource import Datasink

from deepset_cloud.errors import ConfigurationError, UploadError
from deepset_cloud.integrations.partition import (
    META_SUFFIX,
    PartitionResult,
    Record,
    UploadTarget,
    finish,
    upload_partition,
)
from deepset_cloud.models import FileUploadResult, UploadReport, WriteMode

__all__ = ["DeepsetCloudDatasink"]


class DeepsetCloudDatasink(Datasink[PartitionResult]):
    """Uploads every row of a Ray dataset as one file to a deepset Cloud workspace.

    Args:
        workspace_name: the target workspace (default: `DEFAULT_WORKSPACE_NAME` from the environment).
        api_key: the API key (default: `API_KEY` from the workers' environment). Never shown in a repr.
        api_url: the API URL (default: `API_URL` from the workers' environment).
        write_mode: what happens to an existing name; OVERWRITE makes retried tasks safe.
        name_column: the column whose base name is the file name.
        content_column: the column holding the file's bytes.
        url_column: a column holding an fsspec URL to stream the content from (used when a row has no
            `content_column`, or when `content_column` is None).
        meta_column: the column holding each file's metadata (a dict or a JSON object text), if any.
        blocking: wait in `on_write_complete` until every uploaded file is ingested.
        timeout_s: the longest wait for ingestion when `blocking` (None: no limit).
        rows_per_write: the least number of rows Ray hands to one write task (fewer sessions).
        storage_options: fsspec options for `url_column` objects (e.g. S3 credentials).
        max_files_per_session: objects (files plus metadata) per session before a new one is opened.
        s3_concurrency: parallel storage posts per write task.
        session_wait_s: how long a task waits for a free session at the open-session limit.

    Attributes:
        report: the merged `UploadReport` once the write finished (None before, or after a failure).
        error: the error that failed the write, if any.
    """

    def __init__(
        self,
        workspace_name: str | None = None,
        *,
        api_key: str | None = None,
        api_url: str | None = None,
        write_mode: WriteMode = WriteMode.OVERWRITE,
        name_column: str = "path",
        content_column: str | None = "bytes",
        url_column: str | None = None,
        meta_column: str | None = "meta",
        blocking: bool = False,
        timeout_s: float | None = 300,
        rows_per_write: int | None = 1000,
        storage_options: dict[str, Any] | None = None,
        max_files_per_session: int = 50_000,
        s3_concurrency: int | None = None,
        session_wait_s: float = 900.0,
    ) -> None:
        if content_column is None and url_column is None:
            raise ConfigurationError("one of content_column and url_column is needed")
        try:
            self._target = UploadTarget(
                workspace_name=workspace_name,
                api_key=api_key,
                api_url=api_url,
                write_mode=write_mode,
                storage_options=storage_options,
                max_files_per_session=max_files_per_session,
                s3_concurrency=s3_concurrency,
                session_wait_s=session_wait_s,
            )
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"invalid sink setting: {exc}") from exc
        self._columns = _Columns(name_column, content_column, url_column, meta_column)
        self._blocking = blocking
        self._timeout_s = timeout_s
        self._rows_per_write = rows_per_write
        self.report: UploadReport | None = None
        self.error: Exception | None = None

    def __repr__(self) -> str:
        return f"DeepsetCloudDatasink(target={self._target!r})"

    @property
    def min_rows_per_write(self) -> int | None:
        """The least number of rows per write task (fewer, fuller sessions)."""
        return self._rows_per_write

    def get_name(self) -> str:
        """The name of the write tasks in Ray's progress and dashboard."""
        return "DeepsetCloud"

    def on_write_start(self, schema: Any = None) -> None:
        """Forget the outcome of an earlier write with this sink."""
        self.report = None
        self.error = None

    def write(self, blocks: Iterable[Any], ctx: Any) -> PartitionResult:
        """Upload the rows of one write task; return its mergeable result."""
        records, unpaired = _records(self._columns, blocks)
        result = upload_partition(records, self._target)
        if not unpaired:
            return result
        return PartitionResult.merge([result, _unpaired_result(unpaired)])

    def on_write_complete(self, write_result: Any) -> None:
        """Merge the tasks' results into `report` (after waiting for ingestion when `blocking`)."""
        returns = getattr(write_result, "write_returns", write_result)  # a list in Ray before 2.39
        merged = PartitionResult.merge(result for result in returns if isinstance(result, PartitionResult))
        self.report = finish(merged, self._target, blocking=self._blocking, timeout_s=self._timeout_s)

    def on_write_failed(self, error: Exception) -> None:
        """Keep the error; `report` stays None (the files of finished tasks are in the workspace)."""
        self.error = error


class _Columns:
    def __init__(self, name: str, content: str | None, url: str | None, meta: str | None) -> None:
        self.name = name
        self.content = content
        self.url = url
        self.meta = meta


def _rows(blocks: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    for block in blocks:
        yield from BlockAccessor.for_block(block).iter_rows(public_row_format=True)


def _records(columns: _Columns, blocks: Iterable[Any]) -> tuple[list[Record], list[str]]:
    """Return the records of a task's rows, and the names of sidecar rows without their file."""
    records: list[Record] = []
    sidecars: dict[str, Any] = {}
    for row in _rows(blocks):
        if columns.name not in row:
            raise ConfigurationError(
                f"a row has no {columns.name!r} column (name_column); columns: {sorted(row)}"
            )
        name = posixpath.basename(str(row[columns.name]).replace("\\", "/").rstrip("/"))
        content = _content(columns, row, name)
        if name.endswith(META_SUFFIX):
            sidecars[name[: -len(META_SUFFIX)]] = _meta_value(
                name, content if isinstance(content, bytes) else None
            )
            continue
        meta = row.get(columns.meta) if columns.meta is not None else None
        records.append(Record(name=name, content=content, meta=_meta_value(name, meta)))
    if sidecars:
        paired = []
        for record in records:
            sidecar = sidecars.pop(record.name, None)
            paired.append(
                record if sidecar is None else Record(name=record.name, content=record.content, meta=sidecar)
            )
        records = paired
    return records, sorted(sidecars)


def _content(columns: _Columns, row: Mapping[str, Any], name: str) -> bytes | str:
    if columns.content is not None and row.get(columns.content) is not None:
        value = row[columns.content]
        return value.encode() if isinstance(value, str) else bytes(value)
    if columns.url is not None and row.get(columns.url) is not None:
        return str(row[columns.url])
    wanted = " or ".join(repr(column) for column in (columns.content, columns.url) if column is not None)
    raise ConfigurationError(f"row {name!r} has no content: no {wanted} column")


def _meta_value(name: str, value: Any) -> dict[str, Any] | None:
    """Return metadata from a dict, JSON text or bytes; None for no metadata."""
    if value is None:
        return None
    if isinstance(value, (bytes, str)):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ConfigurationError(f"metadata of {name!r} is not valid JSON: {exc}") from exc
    if not isinstance(value, Mapping):
        raise ConfigurationError(f"metadata of {name!r} must be a JSON object, not {type(value).__name__}")
    return dict(value)


def _unpaired_result(names: list[str]) -> PartitionResult:
    failed = tuple(
        FileUploadResult(
            file_name=name + META_SUFFIX,
            success=False,
            exception=UploadError(
                f"metadata row {name + META_SUFFIX!r} has no file row {name!r} in the same write task; "
                "use a meta column, or group the rows so a file and its sidecar meet",
                file_name=name + META_SUFFIX,
                is_retryable=False,
            ),
        )
        for name in names
    )
    report = UploadReport(
        total_files=len(failed), successful_upload_count=0, failed_upload_count=len(failed), failed=failed
    )
    return PartitionResult(report=report)
