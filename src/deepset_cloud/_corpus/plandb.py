"""The sync plan's scratch database: both sides of a sync spilled to a temporary SQLite file.

Memory stays flat whatever the corpus size: the local walk and the remote listing are written in
batches, matched by name with indexed joins, and the plan is read back as a stream. The file lives in a
private temporary folder and is deleted on `close` (it holds no secret, only names, paths and hashes).
"""

from __future__ import annotations

import contextlib
import enum
import os
import shutil
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import NamedTuple, TypeVar

from deepset_cloud._corpus.walk import META_SUFFIX, EntryKind, LocalEntry

__all__ = ["Action", "Candidate", "PlanDB", "PlanRow", "RemoteRow"]

_BATCH = 5_000
SCRATCH_PREFIX = "deepset-cloud-sync-"
"""Scratch folders are `<tmp>/deepset-cloud-sync-<pid>-<random>`."""
T = TypeVar("T")


_CANDIDATES = (
    "SELECT l.name, l.path, l.size, l.mtime_ns, s.path, r.file_id, r.hash, r.meta, coalesce(r.n, 0), "
    "{cached} FROM local l LEFT JOIN local s ON s.path = l.path || ? AND s.kind = 1 "
    "LEFT JOIN remote_name r ON r.name = l.name {join}WHERE l.kind = 0"
)
_CACHE_JOIN = "LEFT JOIN cache.hashes h ON h.path = l.path AND h.size = l.size AND h.mtime_ns = l.mtime_ns "


class Action(enum.IntEnum):
    """What the sync does to one name."""

    NEW = 0
    CHANGED = 1
    META = 2
    DELETE = 3


class RemoteRow(NamedTuple):
    """One listed workspace file: its id, name, size, stored content hash and canonical user metadata."""

    file_id: str
    name: str
    size: int
    content_hash: str | None
    meta: str


class Candidate(NamedTuple):
    """A local file to sync, its sidecar (if any) and the workspace files of the same name."""

    name: str
    path: str
    size: int
    mtime_ns: int
    sidecar: str | None
    file_id: str | None
    remote_hash: str | None
    remote_meta: str | None
    remote_count: int
    cached_hash: str | None


class PlanRow(NamedTuple):
    """One planned change. `meta` is the local user metadata (canonical JSON), `hash` the local hash."""

    action: Action
    name: str
    path: str | None
    size: int
    content_hash: str | None
    meta: str | None
    file_id: str | None
    remote_meta: str | None


class PlanDB:
    """The scratch database of one sync run.

    The local side (`add_local`, then everything else) and the remote listing (`add_remote`,
    `finish_remote`) use separate connections and files, so the walk (in a worker thread) and the listing
    (on the event loop) can run at the same time. Each side is used from one thread at a time.
    """

    def __init__(self) -> None:
        remove_stale_scratch()
        self._folder = tempfile.mkdtemp(prefix=f"{SCRATCH_PREFIX}{os.getpid()}-")
        self._remote_file = os.path.join(self._folder, "remote.sqlite3")
        self._db = _connect(os.path.join(self._folder, "plan.sqlite3"))
        self._remote: sqlite3.Connection | None = _connect(self._remote_file)
        self._remote.executescript(
            """
            CREATE TABLE remote (file_id TEXT NOT NULL, name TEXT NOT NULL, size INTEGER NOT NULL,
                                 hash TEXT, meta TEXT NOT NULL);
            CREATE TABLE remote_name (name TEXT PRIMARY KEY, file_id TEXT, hash TEXT, meta TEXT,
                                      n INTEGER NOT NULL) WITHOUT ROWID;
            """
        )
        self._remote_files = 0
        self._listing_attached = False
        self._db.executescript(
            """
            CREATE TABLE local (path TEXT PRIMARY KEY, name TEXT NOT NULL, size INTEGER NOT NULL,
                                mtime_ns INTEGER NOT NULL, kind INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE plan (seq INTEGER PRIMARY KEY, action INTEGER NOT NULL, name TEXT NOT NULL,
                               path TEXT, size INTEGER NOT NULL, hash TEXT, meta TEXT, file_id TEXT,
                               remote_meta TEXT);
            CREATE INDEX plan_name ON plan (name);
            CREATE TABLE present (name TEXT NOT NULL, hash TEXT);
            """
        )

    def close(self) -> None:
        """Close and delete the database (idempotent)."""
        if self._remote is not None:
            self._remote.close()
            self._remote = None
        self._db.close()
        shutil.rmtree(self._folder, ignore_errors=True)

    # -- local side -------------------------------------------------------------------------------------

    def add_local(self, entries: Iterable[LocalEntry]) -> list[str]:
        """Store the walked entries; return the paths that were walked more than once (kept once)."""
        repeated: list[str] = []
        for batch in _batches(entries):
            with _transaction(self._db):
                for entry in batch:
                    cursor = self._db.execute("INSERT OR IGNORE INTO local VALUES (?, ?, ?, ?, ?)", entry)
                    if cursor.rowcount == 0:
                        repeated.append(entry.path)
        self._db.execute("CREATE INDEX local_name ON local (name, kind)")
        return repeated

    def collisions(self, limit: int) -> tuple[int, list[tuple[str, list[str]]]]:
        """Return how many names two or more local files share, and up to `limit` of them with paths."""
        query = "SELECT name FROM local WHERE kind IN (0, 3) GROUP BY name HAVING count(*) > 1"
        total = self._db.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]  # noqa: S608 (constant)
        examples = []
        for (name,) in self._db.execute(f"{query} ORDER BY name LIMIT ?", (limit,)).fetchall():
            paths = self._db.execute(
                "SELECT path FROM local WHERE name = ? AND kind IN (0, 3) ORDER BY path", (name,)
            ).fetchall()
            examples.append((str(name), [str(row[0]) for row in paths]))
        return int(total), examples

    def unpaired_sidecars(self) -> Iterator[tuple[str, EntryKind | None]]:
        """Yield each sidecar without a file to sync beside it, with the kind of its file (None: none)."""
        rows = self._db.execute(
            "SELECT s.path, f.kind FROM local s LEFT JOIN local f "
            "ON f.path = substr(s.path, 1, length(s.path) - ?) "
            "WHERE s.kind = 1 AND (f.kind IS NULL OR f.kind != 0)",
            (len(META_SUFFIX),),
        )
        for path, kind in rows:
            yield str(path), None if kind is None else EntryKind(kind)

    def kept_out(self) -> Iterator[tuple[str, str, EntryKind]]:
        """Yield (path, name, kind) of the local files that are neither synced nor sidecars."""
        for path, name, kind in self._db.execute("SELECT path, name, kind FROM local WHERE kind IN (2, 3)"):
            yield str(path), str(name), EntryKind(kind)

    def local_file_count(self) -> int:
        """How many local files take part in the sync."""
        return int(self._db.execute("SELECT count(*) FROM local WHERE kind = 0").fetchone()[0])

    # -- remote side ------------------------------------------------------------------------------------

    def add_remote(self, rows: Iterable[RemoteRow]) -> None:
        """Store one page (or more) of listed workspace files."""
        assert self._remote is not None, "the listing is finished already"
        with _transaction(self._remote):
            self._remote.executemany("INSERT INTO remote VALUES (?, ?, ?, ?, ?)", rows)

    def finish_remote(self) -> int:
        """Index the listing by name and join it to the local side; return how many files were listed."""
        if self._remote is not None:
            self._remote.executescript(
                """
                CREATE INDEX remote_by_name ON remote (name);
                INSERT INTO remote_name SELECT name, min(file_id), min(hash), min(meta), count(*)
                    FROM remote GROUP BY name;
                """
            )
            self._remote_files = int(self._remote.execute("SELECT count(*) FROM remote").fetchone()[0])
            self._remote.close()
            self._remote = None
        return self._remote_files

    def _join_listing(self) -> None:
        """Attach the finished listing to the local side (once the walk is done: the main connection)."""
        self.finish_remote()
        if not self._listing_attached:
            # Unqualified `remote` and `remote_name` now resolve to the attached file.
            self._db.execute("ATTACH DATABASE ? AS listing", (self._remote_file,))
            self._listing_attached = True

    # -- matching and the plan --------------------------------------------------------------------------

    def candidates(self, hash_cache: Path | None = None) -> Iterator[Candidate]:
        """Yield every local file to sync with its sidecar, its namesakes in the workspace and its hash
        from the `hash_cache` database (when given and its size and mtime match).
        """
        self._join_listing()
        cached, join = "NULL", ""
        if hash_cache is not None and self._attach(hash_cache):
            cached = "h.sha256"
            join = (
                "LEFT JOIN cache.hashes h ON h.path = l.path AND h.size = l.size AND h.mtime_ns = l.mtime_ns "
            )
        query = _CANDIDATES.format(cached=cached, join=join)  # constant fragments only
        rows = self._db.execute(query, (META_SUFFIX,))
        for row in rows:
            yield Candidate(*row)

    def _attach(self, hash_cache: Path) -> bool:
        # One join instead of one cache query per file; a cache that cannot be read is simply not used.
        try:
            self._db.execute("ATTACH DATABASE ? AS cache", (str(hash_cache),))
            self._db.execute("SELECT 1 FROM cache.hashes LIMIT 1").fetchall()
        except sqlite3.Error:
            return False
        return True

    def gone(self) -> Iterator[tuple[str, str]]:
        """Yield (file_id, name) of every workspace file whose name no local file has."""
        self._join_listing()
        rows = self._db.execute(
            "SELECT r.file_id, r.name FROM remote r WHERE NOT EXISTS "
            "(SELECT 1 FROM local l WHERE l.name = r.name AND l.kind IN (0, 3)) ORDER BY r.name"
        )
        for file_id, name in rows:
            yield str(file_id), str(name)

    def add_plan(self, rows: Iterable[PlanRow]) -> None:
        """Store planned changes."""
        for batch in _batches(rows):
            with _transaction(self._db):
                self._db.executemany(
                    "INSERT INTO plan (action, name, path, size, hash, meta, file_id, remote_meta) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )

    def planned(self, *actions: Action) -> Iterator[PlanRow]:
        """Yield the planned changes of the given kinds, in plan order."""
        marks = ", ".join("?" for _ in actions)
        columns = "action, name, path, size, hash, meta, file_id, remote_meta"
        query = f"SELECT {columns} FROM plan WHERE action IN ({marks}) ORDER BY seq"  # noqa: S608 ("?" only)
        rows = self._db.execute(query, tuple(int(action) for action in actions))
        for action, *rest in rows:
            yield PlanRow(Action(action), *rest)

    def count(self, *actions: Action) -> int:
        """How many changes of the given kinds are planned."""
        marks = ", ".join("?" for _ in actions)
        query = f"SELECT count(*) FROM plan WHERE action IN ({marks})"  # noqa: S608 (only "?" marks)
        return int(self._db.execute(query, tuple(int(a) for a in actions)).fetchone()[0])

    def has_url_paths(self) -> bool:
        """Whether any planned change reads an object from object storage (its path is a URL)."""
        query = "SELECT 1 FROM plan WHERE path GLOB '[A-Za-z]*://*' LIMIT 1"
        return self._db.execute(query).fetchone() is not None

    def max_size(self, *actions: Action) -> int:
        """The largest file size among the planned changes of the given kinds (0 if none)."""
        marks = ", ".join("?" for _ in actions)
        query = f"SELECT coalesce(max(size), 0) FROM plan WHERE action IN ({marks})"  # noqa: S608
        return int(self._db.execute(query, tuple(int(a) for a in actions)).fetchone()[0])

    def add_present(self, rows: Iterable[tuple[str, str | None]]) -> None:
        """Store (name, content hash) of workspace files listed again after the uploads."""
        with _transaction(self._db):
            self._db.executemany("INSERT INTO present VALUES (?, ?)", rows)

    def unconfirmed_uploads(self) -> Iterator[PlanRow]:
        """Yield the uploads that are not in the workspace with the uploaded content (after `add_present`)."""
        self._db.execute("CREATE INDEX IF NOT EXISTS present_name ON present (name, hash)")
        rows = self._db.execute(
            "SELECT action, name, path, size, hash, meta, file_id, remote_meta FROM plan p "
            "WHERE action IN (0, 1) AND NOT EXISTS "
            "(SELECT 1 FROM present s WHERE s.name = p.name AND s.hash = p.hash) ORDER BY seq"
        )
        for action, *rest in rows:
            yield PlanRow(Action(action), *rest)

    def action_of(self, name: str) -> Action | None:
        """The planned upload action of a name, if any."""
        row = self._db.execute(
            "SELECT action FROM plan WHERE name = ? AND action IN (0, 1)", (name,)
        ).fetchone()
        return None if row is None else Action(row[0])


def remove_stale_scratch(folder: str | None = None) -> list[str]:
    """Delete the scratch folders of syncs whose process is gone (killed: no `close` ran); return them.

    A folder is named after its process id; only this user's folders are touched, and only on POSIX
    (where `os.kill(pid, 0)` only asks whether the process exists). A reused pid merely keeps a stale
    folder until that process ends too.
    """
    if os.name != "posix":
        return []
    removed = []
    base = folder or tempfile.gettempdir()
    with contextlib.suppress(OSError), os.scandir(base) as entries:
        for entry in entries:
            pid_text = entry.name[len(SCRATCH_PREFIX) :].split("-", 1)[0]
            if not entry.name.startswith(SCRATCH_PREFIX) or not pid_text.isdigit():
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_uid != os.getuid() or not entry.is_dir(
                    follow_symlinks=False
                ):
                    continue
                if _process_exists(int(pid_text)):
                    continue
                shutil.rmtree(entry.path, ignore_errors=True)
                removed.append(entry.path)
    return removed


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def _connect(path: str) -> sqlite3.Connection:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for pragma in ("journal_mode=OFF", "synchronous=OFF", "temp_store=FILE", "cache_size=-8000"):
        db.execute(f"PRAGMA {pragma}")
    return db


@contextlib.contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[None]:
    # One transaction per batch: autocommit would sync (and lock) once per row.
    db.execute("BEGIN")
    try:
        yield
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


def _batches(items: Iterable[T]) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) >= _BATCH:
            yield batch
            batch = []
    if batch:
        yield batch
