"""`delete_files`, `update_file_meta`, and the failure rules of sync, against the emulator."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from deepset_cloud._corpus.meta import CONTENT_HASH_KEY
from deepset_cloud.async_client.client import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import DeepsetCloudFile, File

from .conftest import workspace_files, write_corpus

pytestmark = pytest.mark.anyio


async def _seed(client: AsyncClient, workspace: str) -> dict[str, File]:
    texts = [
        DeepsetCloudFile(name="a.txt", text="a", meta={"kind": "old"}),
        DeepsetCloudFile(name="b.txt", text="b", meta={"kind": "new"}),
        DeepsetCloudFile(name="c.txt", text="c", meta={"kind": "old"}),
        DeepsetCloudFile(name="dup.txt", text="1", meta={}),
        DeepsetCloudFile(name="dup.txt", text="2", meta={}),
        DeepsetCloudFile(name="dup.txt.bak", text="3", meta={}),
    ]
    await client.upload_texts(texts, workspace_name=workspace, show_progress=False)
    files = [file async for page in client.list_files(workspace_name=workspace) for file in page]
    return {file.name + ("#2" if file.name == "dup.txt" and i else ""): file for i, file in enumerate(files)}


async def test_delete_by_id_name_and_filter_with_dry_run(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    files = await _seed(client, deepset_workspace)
    a_id = files["a.txt"].file_id
    before = deepset_emulator.stats()["requests"].get("delete_file", 0)
    plan = await client.delete_files(
        workspace_name=deepset_workspace,
        file_ids=[a_id],
        names=["dup.txt"],
        odata_filter="kind eq 'old'",
        dry_run=True,
    )
    assert plan.dry_run
    assert deepset_emulator.stats()["requests"].get("delete_file", 0) == before
    assert len(await workspace_files(client, deepset_workspace)) == 5  # names; dup.txt twice
    # a.txt by id and by filter counts once; both dup.txt; c.txt by filter; dup.txt.bak is no exact match.
    assert sorted(item.name or "?" for item in plan.deleted) == ["a.txt", "c.txt", "dup.txt", "dup.txt"]

    report = await client.delete_files(
        workspace_name=deepset_workspace,
        file_ids=[a_id],
        names=["dup.txt"],
        odata_filter="kind eq 'old'",
        show_progress=False,
    )
    assert not report.dry_run
    assert report.failed == ()
    assert len(report.deleted) == 4
    assert sorted(await workspace_files(client, deepset_workspace)) == ["b.txt", "dup.txt.bak"]


async def test_deleting_an_unknown_id_is_reported(client: AsyncClient, deepset_workspace: str) -> None:
    await _seed(client, deepset_workspace)
    missing = uuid.uuid4()
    report = await client.delete_files(
        workspace_name=deepset_workspace, file_ids=[missing], show_progress=False
    )
    assert report.deleted == ()
    assert [(item.file_id, "not found" in item.reason) for item in report.failed] == [(missing, True)]


async def test_delete_files_needs_a_selector(client: AsyncClient, deepset_workspace: str) -> None:
    with pytest.raises(ConfigurationError, match="nothing was selected"):
        await client.delete_files(workspace_name=deepset_workspace)
    with pytest.raises(ConfigurationError, match="UUID"):
        await client.delete_files(workspace_name=deepset_workspace, file_ids=["nope"])  # type: ignore[list-item]


async def test_update_file_meta_merges_removes_and_reports_unknown_ids(
    client: AsyncClient, deepset_workspace: str
) -> None:
    files = await _seed(client, deepset_workspace)
    missing = uuid.uuid4()
    report = await client.update_file_meta(
        workspace_name=deepset_workspace,
        meta_by_file_id={
            files["a.txt"].file_id: {"kind": "None", "year": 2024},
            str(files["b.txt"].file_id): {"tags": ["x"]},  # type: ignore[dict-item]
            missing: {"k": 1},
        },
    )
    assert report.updated == 2
    assert [(item.file_id, item.error_type) for item in report.failed] == [(missing, "FILE_NOT_FOUND")]
    metas = await workspace_files(client, deepset_workspace)
    assert metas["a.txt"] == [{"year": 2024}]
    assert metas["b.txt"] == [{"kind": "new", "tags": ["x"]}]


async def test_update_file_meta_refuses_the_reserved_key(client: AsyncClient, deepset_workspace: str) -> None:
    with pytest.raises(ConfigurationError, match="reserved"):
        await client.update_file_meta(
            workspace_name=deepset_workspace, meta_by_file_id={uuid.uuid4(): {CONTENT_HASH_KEY: "x"}}
        )


async def test_no_deletion_after_an_upload_error(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {"keep.txt": "k", "gone.txt": "g"})
    await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    (root / "gone.txt").unlink()
    (root / "new.txt").write_text("n")
    deepset_emulator.set_faults([{"route": "direct_upload", "status": 400}])
    report = await client.sync(
        [root], workspace_name=deepset_workspace, delete=True, max_delete=1.0, show_progress=False
    )
    assert [failure.name for failure in report.failed] == ["new.txt"]
    assert report.uploaded == 0
    assert report.deleted == 0
    assert report.deletion_skipped is not None
    assert sorted(await workspace_files(client, deepset_workspace)) == ["gone.txt", "keep.txt"]

    deepset_emulator.clear_faults()
    healed = await client.sync(
        [root], workspace_name=deepset_workspace, delete=True, max_delete=1.0, show_progress=False
    )
    assert (healed.uploaded, healed.deleted, healed.failed) == (1, 1, ())
    assert sorted(await workspace_files(client, deepset_workspace)) == ["keep.txt", "new.txt"]


async def test_session_path_sync_and_duplicate_names_collapse(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    corpus = {f"doc{i:02}.txt": f"text {i}" for i in range(30)}
    corpus["doc00.txt.meta.json"] = '{"first": true}'
    root = write_corpus(tmp_path / "corpus", corpus)
    # A duplicate uploaded by another tool (KEEP mode) is collapsed by sync's overwriting upload.
    await client.upload_texts(
        [DeepsetCloudFile(name="doc05.txt", text="x"), DeepsetCloudFile(name="doc05.txt", text="y")],
        workspace_name=deepset_workspace,
        show_progress=False,
    )
    sessions_before = deepset_emulator.stats()["requests"].get("create_session", 0)
    report = await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    assert deepset_emulator.stats()["requests"]["create_session"] > sessions_before
    assert (report.uploaded, report.updated, report.failed) == (29, 1, ())
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 30
    files = await workspace_files(client, deepset_workspace)
    assert len(files) == 30
    assert all(len(metas) == 1 for metas in files.values())
    assert files["doc00.txt"] == [{"first": True}]
