"""The Dask recipe of docs/scale-out.md, run on a `distributed.LocalCluster` against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.integrations.partition import PartitionResult, UploadTarget, finish, upload_partition
from deepset_cloud.sync_client import files as sync_files

db = pytest.importorskip("dask.bag", reason="the 'ray' dependency group is needed (nox -s ray installs it)")
distributed = pytest.importorskip("distributed")

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    """Two worker processes with one thread each."""
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client


@pytest.mark.usefixtures("dask_client")
def test_the_dask_recipe_uploads_every_record_once(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    # The recipe, as in docs/scale-out.md.
    target = UploadTarget(
        workspace_name=deepset_workspace, api_key=deepset_emulator.api_key, api_url=deepset_emulator.api_url
    )
    records = db.from_sequence(
        [(f"doc-{index:03d}.txt", f"text {index}".encode(), {"index": index}) for index in range(300)],
        npartitions=6,
    )
    results = records.map_partitions(lambda part: [upload_partition(part, target)]).compute()
    report = finish(PartitionResult.merge(results), target, blocking=True)

    assert len(results) == 6
    assert report.failed == ()
    assert report.successful_upload_count == 600  # files and their metadata
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 300
    pages = sync_files.list_files(
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=deepset_workspace,
        batch_size=500,
    )
    files = [file for page in pages for file in page]
    assert sorted(file.name for file in files) == [f"doc-{index:03d}.txt" for index in range(300)]
    assert all(file.meta == {"index": int(file.name[4:7])} for file in files)
