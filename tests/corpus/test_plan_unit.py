"""Planning without a server: the walk, name collisions, sidecars, the hash cache and classification."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepset_cloud._corpus.hashcache import HashCache, sha256_of
from deepset_cloud._corpus.meta import CONTENT_HASH_KEY, canonical_meta
from deepset_cloud._corpus.plan import classify, decide, plan_local
from deepset_cloud._corpus.plandb import Action, PlanDB, RemoteRow
from deepset_cloud._upload.discovery import normalize_file_types
from deepset_cloud.errors import ConfigurationError

TYPES = normalize_file_types(None)


@pytest.fixture
def db() -> Iterator[PlanDB]:
    database = PlanDB()
    yield database
    database.close()


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    return path


def old(path: Path) -> Path:
    """Age the file's mtime beyond the cache's racy window."""
    os.utime(path, ns=(1_600_000_000_000_000_000, 1_600_000_000_000_000_000))
    return path


def test_decide_covers_every_class() -> None:
    same = {"local_hash": "h", "local_meta": "{}"}
    assert decide(**same, remote_count=0, remote_hash=None, remote_meta=None) is Action.NEW
    assert decide(**same, remote_count=1, remote_hash="other", remote_meta="{}") is Action.CHANGED
    assert decide(**same, remote_count=1, remote_hash=None, remote_meta="{}") is Action.CHANGED
    assert decide(**same, remote_count=2, remote_hash="h", remote_meta="{}") is Action.CHANGED
    assert decide(**same, remote_count=1, remote_hash="h", remote_meta='{"a":1}') is Action.META
    assert decide(**same, remote_count=1, remote_hash="h", remote_meta="{}") is None


def test_colliding_names_are_an_error_naming_both_paths(tmp_path: Path, db: PlanDB) -> None:
    write(tmp_path / "a" / "x.txt", "1")
    write(tmp_path / "b" / "x.txt", "2")
    with pytest.raises(ConfigurationError, match="relative_names") as caught:
        plan_local(db, [tmp_path], recursive=True, file_types=TYPES, relative_names=False)
    assert str(tmp_path / "a" / "x.txt") in str(caught.value)
    assert str(tmp_path / "b" / "x.txt") in str(caught.value)


def test_relative_names_resolve_collisions(tmp_path: Path, db: PlanDB) -> None:
    write(tmp_path / "a" / "x.txt", "1")
    write(tmp_path / "b" / "x.txt", "2")
    plan_local(db, [tmp_path], recursive=True, file_types=TYPES, relative_names=True)
    assert sorted(c.name for c in db.candidates()) == ["a/x.txt", "b/x.txt"]


def test_skips_are_reported_and_orphan_sidecars_refused(tmp_path: Path, db: PlanDB) -> None:
    write(tmp_path / "keep.txt", "k")
    write(tmp_path / "empty.txt", "")
    write(tmp_path / "image.png", b"\x89")
    write(tmp_path / "image.png.meta.json", "{}")
    write(tmp_path / "sub" / "deep.txt", "d")
    skipped = plan_local(
        db, [tmp_path, tmp_path / "keep.txt"], recursive=False, file_types=TYPES, relative_names=False
    )
    reasons = {Path(s.path).name: s.reason for s in skipped}
    assert "empty" in reasons["empty.txt"]
    assert "unsupported file type '.png'" in reasons["image.png"]
    assert "not of a selected type" in reasons["image.png.meta.json"]
    assert "recursive=False" in reasons["sub"]
    assert reasons["keep.txt"] == "listed more than once"
    assert [c.name for c in db.candidates()] == ["keep.txt"]

    other = PlanDB()
    try:
        write(tmp_path / "lonely.txt.meta.json", "{}")
        with pytest.raises(ConfigurationError, match="without their file"):
            plan_local(other, [tmp_path], recursive=False, file_types=TYPES, relative_names=False)
    finally:
        other.close()


def _planned(db: PlanDB) -> dict[str, Action]:
    return {row.name: row.action for row in db.planned(*Action)}


def test_classify_against_a_listing(tmp_path: Path, db: PlanDB) -> None:
    same = old(write(tmp_path / "same.txt", "same"))
    old(write(tmp_path / "changed.txt", "new content"))
    meta_file = old(write(tmp_path / "meta.txt", "meta"))
    write(tmp_path / "meta.txt.meta.json", json.dumps({"lang": "de"}))
    old(write(tmp_path / "new.txt", "new"))
    plan_local(db, [tmp_path], recursive=False, file_types=TYPES, relative_names=False)
    db.add_remote(
        [
            RemoteRow("00000000-0000-0000-0000-000000000001", "same.txt", 4, sha256_of(str(same)), "{}"),
            RemoteRow("00000000-0000-0000-0000-000000000002", "changed.txt", 3, "stale", "{}"),
            RemoteRow(
                "00000000-0000-0000-0000-000000000003",
                "meta.txt",
                4,
                sha256_of(str(meta_file)),
                canonical_meta({"lang": "en"}),
            ),
            RemoteRow("00000000-0000-0000-0000-000000000004", "gone.txt", 1, "x", "{}"),
            RemoteRow("00000000-0000-0000-0000-000000000005", "other.png", 1, "x", "{}"),
        ]
    )
    assert db.finish_remote() == 5
    counts = classify(db, HashCache(None), delete=True, file_types=TYPES, advance=lambda n: None)
    assert (counts.new, counts.changed, counts.meta, counts.unchanged, counts.delete) == (1, 1, 1, 1, 1)
    assert _planned(db) == {
        "new.txt": Action.NEW,
        "changed.txt": Action.CHANGED,
        "meta.txt": Action.META,
        "gone.txt": Action.DELETE,  # other.png is not of a selected type: never deleted
    }


def test_classify_refuses_broken_and_reserved_sidecars(tmp_path: Path, db: PlanDB) -> None:
    write(tmp_path / "a.txt", "a")
    write(tmp_path / "a.txt.meta.json", "[1]")
    write(tmp_path / "b.txt", "b")
    write(tmp_path / "b.txt.meta.json", json.dumps({CONTENT_HASH_KEY: "forged"}))
    write(tmp_path / "c.txt", "c")
    write(tmp_path / "c.txt.meta.json", "{oops")
    plan_local(db, [tmp_path], recursive=False, file_types=TYPES, relative_names=False)
    db.finish_remote()
    with pytest.raises(ConfigurationError, match="3 invalid metadata sidecar") as caught:
        classify(db, HashCache(None), delete=False, file_types=TYPES, advance=lambda n: None)
    message = str(caught.value)
    assert "JSON object" in message
    assert "reserves" in message
    assert "not valid JSON" in message


def test_hash_cache_skips_rereading_and_notices_changes(tmp_path: Path) -> None:
    cache_dir = tmp_path / "cache"
    path = old(write(tmp_path / "f.txt", "one"))
    status = path.stat()
    cache = HashCache(cache_dir)
    first = cache.hash_of(str(path), status.st_size, status.st_mtime_ns)
    cache.close()
    assert first == sha256_of(str(path))

    # Replace the content without changing size or mtime: a cache hit proves the file was not read.
    path.write_text("two")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    again = HashCache(cache_dir)
    assert again.hash_of(str(path), status.st_size, status.st_mtime_ns) == first
    # A different mtime misses the cache and reads the file.
    assert again.hash_of(str(path), status.st_size, status.st_mtime_ns + 1) == sha256_of(str(path))
    again.close()


def test_recently_modified_files_are_not_cached(tmp_path: Path) -> None:
    path = write(tmp_path / "fresh.txt", "one")
    status = path.stat()
    cache = HashCache(tmp_path / "cache")
    cache.hash_of(str(path), status.st_size, status.st_mtime_ns)
    cache.close()
    path.write_text("two")
    os.utime(path, ns=(status.st_atime_ns, status.st_mtime_ns))
    cache = HashCache(tmp_path / "cache")
    assert cache.hash_of(str(path), status.st_size, status.st_mtime_ns) == sha256_of(str(path))
    cache.close()


def test_an_unusable_cache_folder_only_disables_the_cache(tmp_path: Path) -> None:
    blocker = write(tmp_path / "not-a-folder", "x")
    path = write(tmp_path / "f.txt", "data")
    cache = HashCache(blocker / "cache")
    status = path.stat()
    assert cache.hash_of(str(path), status.st_size, status.st_mtime_ns) == sha256_of(str(path))
    cache.close()


@pytest.mark.skipif(os.name != "posix", reason="stale scratch folders are only swept on POSIX")
def test_scratch_folders_of_dead_processes_are_swept(tmp_path: Path) -> None:
    import subprocess
    import sys

    from deepset_cloud._corpus.plandb import SCRATCH_PREFIX, remove_stale_scratch

    finished = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead = tmp_path / f"{SCRATCH_PREFIX}{int(finished.stdout)}-abc"
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / f"{SCRATCH_PREFIX}notapid"
    for folder in (dead, alive, unrelated):
        folder.mkdir()
        (folder / "plan.sqlite3").write_bytes(b"x")
    assert remove_stale_scratch(str(tmp_path)) == [str(dead)]
    assert not dead.exists()
    assert alive.exists()
    assert unrelated.exists()
