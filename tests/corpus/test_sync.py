"""`sync` against the emulator over real sockets: plans, changes, deletions, dry runs and the guard."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from deepset_cloud._corpus.meta import CONTENT_HASH_KEY
from deepset_cloud._http.pagination import iterate_file_pages
from deepset_cloud.async_client.client import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ConfigurationError, DeleteGuardError

from .conftest import touch_old, upload_requests, workspace_files, write_corpus

pytestmark = pytest.mark.anyio

CORPUS: dict[str, str | dict[str, Any]] = {
    "a.txt": "alpha",
    "b.md": "# beta",
    "b.md.meta.json": {"lang": "en"},
    "sub/c.txt": "gamma",
}


async def test_first_sync_uploads_everything_with_meta(
    client: AsyncClient, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", CORPUS)
    report = await client.sync([root], workspace_name=deepset_workspace, recursive=True, show_progress=False)
    assert (report.uploaded, report.updated, report.unchanged, report.deleted) == (3, 0, 0, 0)
    assert report.failed == ()
    assert not report.dry_run
    files = await workspace_files(client, deepset_workspace)
    assert files == {"a.txt": [{}], "b.md": [{"lang": "en"}], "c.txt": [{}]}


async def test_resync_makes_no_upload_and_hides_the_hash(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", CORPUS)
    await client.sync([root], workspace_name=deepset_workspace, recursive=True, show_progress=False)
    before = upload_requests(deepset_emulator)
    report = await client.sync([root], workspace_name=deepset_workspace, recursive=True, show_progress=False)
    assert upload_requests(deepset_emulator) == before
    assert (report.uploaded, report.updated, report.unchanged) == (0, 0, 3)
    # The raw listing holds the hash; list_files and download do not show it.
    raw = [file async for page in iterate_file_pages(client._api, deepset_workspace) for file in page.data]
    assert all(CONTENT_HASH_KEY in file.meta for file in raw)
    async for page in client.list_files(workspace_name=deepset_workspace):
        assert all(CONTENT_HASH_KEY not in file.meta for file in page)
    out = tmp_path / "download"
    await client.download(workspace_name=deepset_workspace, file_dir=out, show_progress=False)
    assert CONTENT_HASH_KEY not in (out / "a.txt.meta.json").read_text()


async def test_resync_from_another_home_and_path_uploads_nothing(
    client: AsyncClient,
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = write_corpus(tmp_path / "machine-1" / "corpus", CORPUS)
    await client.sync([first], workspace_name=deepset_workspace, recursive=True, show_progress=False)
    second = tmp_path / "machine-2" / "elsewhere"
    shutil.copytree(first, second)  # new paths and new mtimes: nothing for a cache to recognise
    other_home = tmp_path / "machine-2" / "home"
    monkeypatch.setenv("HOME", str(other_home))
    monkeypatch.delenv("DEEPSET_CLOUD_CACHE_DIR")
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    before = upload_requests(deepset_emulator)
    report = await client.sync(
        [second], workspace_name=deepset_workspace, recursive=True, show_progress=False
    )
    assert upload_requests(deepset_emulator) == before
    assert report.unchanged == 3
    assert (other_home / ".cache" / "deepset-cloud" / "sync-hashes.sqlite3").exists()


async def test_added_changed_meta_changed_and_deleted_files(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {**CORPUS, "d.txt": "delta", "e.txt": "epsilon"})
    await client.sync([root], workspace_name=deepset_workspace, recursive=True, show_progress=False)
    (root / "new.txt").write_text("new")
    (root / "a.txt").write_text("alpha, changed")
    write_corpus(root, {"b.md.meta.json": {"lang": "de", "year": 2024}})
    (root / "d.txt").unlink()

    without_delete = await client.sync(
        [root], workspace_name=deepset_workspace, recursive=True, show_progress=False
    )
    assert (without_delete.uploaded, without_delete.updated, without_delete.deleted) == (1, 2, 0)
    assert without_delete.unchanged == 2
    files = await workspace_files(client, deepset_workspace)
    assert "d.txt" in files
    assert files["b.md"] == [{"lang": "de", "year": 2024}]
    assert len(files["a.txt"]) == 1

    before = upload_requests(deepset_emulator)
    with_delete = await client.sync(
        [root], workspace_name=deepset_workspace, recursive=True, delete=True, show_progress=False
    )
    assert (with_delete.uploaded, with_delete.updated, with_delete.deleted, with_delete.unchanged) == (
        0,
        0,
        1,
        5,
    )
    assert upload_requests(deepset_emulator) == before
    files = await workspace_files(client, deepset_workspace)
    assert sorted(files) == ["a.txt", "b.md", "c.txt", "e.txt", "new.txt"]
    assert all(len(metas) == 1 for metas in files.values())


async def test_meta_only_change_updates_in_place_and_removes_keys(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {"m.txt": "m", "m.txt.meta.json": {"keep": 1, "drop": "x"}})
    await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    write_corpus(root, {"m.txt.meta.json": {"keep": 1, "add": [1, 2]}})
    before = upload_requests(deepset_emulator)
    meta_calls = deepset_emulator.stats()["requests"].get("update_meta", 0)
    report = await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    assert report.updated == 1
    assert upload_requests(deepset_emulator) == before
    assert deepset_emulator.stats()["requests"]["update_meta"] == meta_calls + 1
    assert (await workspace_files(client, deepset_workspace))["m.txt"] == [{"keep": 1, "add": [1, 2]}]


async def test_dry_run_changes_nothing_and_lists_the_plan(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {"keep.txt": "k", "change.txt": "c", "gone.txt": "g"})
    await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    (root / "gone.txt").unlink()
    (root / "change.txt").write_text("changed")
    (root / "new.txt").write_text("n")
    before_files = await workspace_files(client, deepset_workspace)
    before = deepset_emulator.stats()["requests"]
    report = await client.sync(
        [root], workspace_name=deepset_workspace, delete=True, dry_run=True, show_progress=False
    )
    after = deepset_emulator.stats()["requests"]
    for route in ("s3_post", "direct_upload", "create_session", "update_meta", "delete_file"):
        assert after.get(route, 0) == before.get(route, 0), route
    assert await workspace_files(client, deepset_workspace) == before_files
    assert report.dry_run
    assert (report.uploaded, report.updated, report.deleted, report.unchanged) == (1, 1, 1, 1)
    assert sorted((change.action, change.name) for change in report.planned) == [
        ("delete", "gone.txt"),
        ("replace", "change.txt"),
        ("upload", "new.txt"),
    ]


async def test_delete_guard_refuses_before_any_change(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {f"f{i}.txt": str(i) for i in range(4)})
    await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    for i in range(3):
        (root / f"f{i}.txt").unlink()
    (root / "new.txt").write_text("new")
    before = upload_requests(deepset_emulator)
    with pytest.raises(DeleteGuardError) as caught:
        await client.sync([root], workspace_name=deepset_workspace, delete=True, show_progress=False)
    assert (caught.value.planned_deletions, caught.value.remote_files, caught.value.limit) == (3, 4, 2)
    assert upload_requests(deepset_emulator) == before
    assert len(await workspace_files(client, deepset_workspace)) == 4

    report = await client.sync(
        [root], workspace_name=deepset_workspace, delete=True, max_delete=3, show_progress=False
    )
    assert (report.uploaded, report.deleted) == (1, 3)
    assert sorted(await workspace_files(client, deepset_workspace)) == ["f3.txt", "new.txt"]


async def test_colliding_names_fail_before_anything_is_sent(
    client: AsyncClient, deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {"x/same.txt": "1", "y/same.txt": "2", "z/other.txt": "3"})
    before = upload_requests(deepset_emulator)
    with pytest.raises(ConfigurationError, match=r"same\.txt") as caught:
        await client.sync([root], workspace_name=deepset_workspace, recursive=True, show_progress=False)
    assert str(root / "x" / "same.txt") in str(caught.value)
    assert str(root / "y" / "same.txt") in str(caught.value)
    # Only the read-only listing may have run alongside the walk: no file was sent, nothing changed.
    assert upload_requests(deepset_emulator) == before
    assert await workspace_files(client, deepset_workspace) == {}

    report = await client.sync(
        [root], workspace_name=deepset_workspace, recursive=True, relative_names=True, show_progress=False
    )
    assert report.uploaded == 3
    assert sorted(await workspace_files(client, deepset_workspace)) == [
        "x/same.txt",
        "y/same.txt",
        "z/other.txt",
    ]


async def test_hash_cache_avoids_rereading_unchanged_files(
    client: AsyncClient, deepset_workspace: str, tmp_path: Path, private_cache: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {"big.txt": "x" * 1000})
    touch_old(root / "big.txt")
    await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    assert (private_cache / "sync-hashes.sqlite3").exists()
    # Same size and mtime but other bytes: the cache answers, so the sync sees no change (by design).
    stat = (root / "big.txt").stat()
    (root / "big.txt").write_text("y" * 1000)
    os.utime(root / "big.txt", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    report = await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
    assert report.unchanged == 1
