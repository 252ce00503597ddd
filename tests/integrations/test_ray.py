"""The Ray Data sink on a local Ray against the emulator: every row lands once, one merged report."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest
import ray
import ray.cloudpickle

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.integrations.partition import PartitionResult
from deepset_cloud.integrations.ray import DeepsetCloudDatasink
from deepset_cloud.models import File, UploadReport
from deepset_cloud.sync_client import files as sync_files

pytestmark = [pytest.mark.usefixtures("local_ray"), pytest.mark.timeout(600)]

# Ray's workers cannot import this test module: ship its classes by value.
ray.cloudpickle.register_pickle_by_value(sys.modules[__name__])  # type: ignore[no-untyped-call]

ROWS = 1000


def listed(emulator: ThreadedEmulator, workspace: str) -> list[File]:
    pages = sync_files.list_files(
        api_key=emulator.api_key, api_url=emulator.api_url, workspace_name=workspace, batch_size=500
    )
    return [file for page in pages for file in page]


def rows() -> list[dict[str, Any]]:
    return [
        {
            "path": f"bucket/docs/doc-{index:04d}.txt",
            "bytes": f"document {index}".encode(),
            "meta": {"index": index},
        }
        for index in range(ROWS)
    ]


def assert_landed_once(emulator: ThreadedEmulator, workspace: str, report: UploadReport | None) -> None:
    assert report is not None
    assert report.failed == ()
    assert report.ingestion is not None
    assert report.ingestion.finished_files == ROWS
    files = listed(emulator, workspace)
    names = [file.name for file in files]
    assert len(names) == ROWS  # no duplicates ...
    assert sorted(names) == [f"doc-{index:04d}.txt" for index in range(ROWS)]  # ... and nothing missing
    assert all(file.meta == {"index": int(file.name[4:8])} for file in files)


def sink_for(
    emulator: ThreadedEmulator,
    workspace: str,
    sink_type: type[DeepsetCloudDatasink] = DeepsetCloudDatasink,
    **changes: Any,
) -> DeepsetCloudDatasink:
    settings: dict[str, Any] = {
        "api_key": emulator.api_key,
        "api_url": emulator.api_url,
        "blocking": True,
        "rows_per_write": 250,
        **changes,
    }
    return sink_type(workspace, **settings)


def test_a_thousand_rows_land_once_with_one_merged_report(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str
) -> None:
    # One open session per account: the write tasks take turns instead of failing.
    emulator = deepset_make_emulator(max_open_sessions=1)
    sink = sink_for(emulator, deepset_workspace)
    ray.data.from_items(rows()).write_datasink(sink)

    assert_landed_once(emulator, deepset_workspace, sink.report)
    assert sink.report is not None
    assert sink.report.successful_upload_count == 2 * ROWS  # files and their metadata
    assert len(sink.report.session_ids) >= 4  # at least 250 rows per task, one session each
    assert "test-api-key" not in repr(sink)


class KilledOnce(DeepsetCloudDatasink):
    """Kills its worker process in the middle of the first attempt of write task 0."""

    def __init__(self, workspace: str, *, marker_dir: str, **settings: Any) -> None:
        super().__init__(workspace, **settings)
        self.marker = os.path.join(marker_dir, "killed")

    def write(self, blocks: Iterable[Any], ctx: Any) -> PartitionResult:
        if ctx.task_idx != 0:
            return super().write(blocks, ctx)
        try:
            os.close(os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:  # the retry: upload everything
            return super().write(blocks, ctx)
        blocks = list(blocks)
        half = [block.slice(0, block.num_rows // 2) for block in blocks]
        super().write(half, ctx)  # these files are stored (their session is closed) ...
        os._exit(1)  # ... and then the worker dies before returning its result


def test_a_killed_and_retried_task_creates_no_duplicate(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    sink = sink_for(deepset_emulator, deepset_workspace, KilledOnce, marker_dir=str(tmp_path))
    ray.data.from_items(rows()).write_datasink(sink)

    assert (tmp_path / "killed").exists()  # the first attempt did die
    assert_landed_once(deepset_emulator, deepset_workspace, sink.report)
    assert sink.report is not None
    assert sink.report.successful_upload_count == 2 * ROWS  # the lost attempt is not counted


def test_binary_files_with_sidecar_rows(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index in range(20):
        (corpus / f"file-{index:02d}.txt").write_text(f"file {index}")
        (corpus / f"file-{index:02d}.txt.meta.json").write_text(json.dumps({"n": index}))
    dataset = ray.data.read_binary_files(str(corpus), include_paths=True)
    sink = sink_for(deepset_emulator, deepset_workspace, rows_per_write=1000)
    dataset.write_datasink(sink)

    assert sink.report is not None
    assert sink.report.failed == ()
    files = {file.name: file.meta for file in listed(deepset_emulator, deepset_workspace)}
    assert files == {f"file-{index:02d}.txt": {"n": index} for index in range(20)}


def test_rows_naming_objects_are_streamed_from_the_bucket_by_the_workers(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, bucket: str, s3_options: dict[str, Any]
) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(**s3_options)
    for index in range(30):
        fs.pipe(f"{bucket}/raw/{index:02d}.txt", f"object {index}".encode())
    urls = [{"path": f"s3://{bucket}/raw/{index:02d}.txt", "meta": {"n": index}} for index in range(30)]
    sink = sink_for(
        deepset_emulator,
        deepset_workspace,
        content_column=None,
        url_column="path",
        storage_options=s3_options,
        rows_per_write=10,
    )
    ray.data.from_items(urls).write_datasink(sink)

    assert sink.report is not None
    assert sink.report.failed == ()
    assert sink.report.ingestion is not None
    assert sink.report.ingestion.finished_files == 30
    files = {file.name: (file.size, file.meta) for file in listed(deepset_emulator, deepset_workspace)}
    assert files == {f"{index:02d}.txt": (len(f"object {index}"), {"n": index}) for index in range(30)}
