"""Planning a sync: the local side, the remote side, and the decision for every name.

Blocking steps (`plan_local`, `classify`) run in a worker thread; `list_remote` runs on the event loop.
Everything the plan learns goes into the `PlanDB`, so memory does not grow with the corpus. Every problem
with the user's input (a missing path, two files with one name, a broken sidecar) is raised as one
`ConfigurationError` naming the offenders before anything in the workspace changes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import attrs

from deepset_cloud._corpus.hashcache import HashCache
from deepset_cloud._corpus.meta import CONTENT_HASH_KEY, canonical_meta, split_reserved
from deepset_cloud._corpus.plandb import Action, Candidate, PlanDB, PlanRow, RemoteRow
from deepset_cloud._corpus.walk import META_SUFFIX, EntryKind, file_suffix, walk_corpus
from deepset_cloud._upload.sources import StorageOptions, read_bytes, shown_path
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import File, SkippedFile

__all__ = ["PlanCounts", "Unreadable", "classify", "decide", "plan_local", "remote_rows"]

_SHOWN = 20  # offenders named in one error message


@attrs.frozen
class Unreadable:
    """A local file that could not be read while planning (it is reported as failed)."""

    name: str
    path: str
    reason: str


@attrs.frozen(kw_only=True)
class PlanCounts:
    """How many names fall in each class of the plan."""

    new: int
    changed: int
    meta: int
    unchanged: int
    delete: int
    unreadable: tuple[Unreadable, ...]


def plan_local(
    db: PlanDB,
    paths: list[Path | str],
    *,
    recursive: bool,
    file_types: frozenset[str],
    relative_names: bool,
    storage_options: StorageOptions | None = None,
) -> list[SkippedFile]:
    """Walk the corpus into `db`; return what is skipped, with reasons.

    Raises:
        ConfigurationError: a path does not exist, two files would get the same name, or a sidecar has
            no file beside it.
    """
    skipped: list[SkippedFile] = []

    def on_skip(path: str, reason: str) -> None:
        skipped.append(SkippedFile(path=shown_path(path), reason=reason))

    entries = walk_corpus(
        paths,
        recursive=recursive,
        file_types=file_types,
        relative_names=relative_names,
        on_skip=on_skip,
        storage_options=storage_options,
    )
    for path in db.add_local(entries):
        on_skip(path, "listed more than once")
    total, examples = db.collisions(_SHOWN)
    if total:
        shown = "; ".join(f"{name!r}: {', '.join(paths)}" for name, paths in examples)
        hint = "" if relative_names else " (relative_names=True names files by their path in the folder)"
        raise ConfigurationError(f"{total} name(s) would be used by more than one local file{hint}: {shown}")
    orphans: list[str] = []
    for path, kind in db.unpaired_sidecars():
        if kind is EntryKind.FILTERED:
            on_skip(path, "its file is not of a selected type")
        elif kind is EntryKind.EMPTY:
            on_skip(path, "its file is empty")
        else:
            orphans.append(path)
    if orphans:
        raise ConfigurationError(
            f"{len(orphans)} metadata sidecar(s) without their file beside them: {', '.join(orphans[:_SHOWN])}",
            broken_sidecars=tuple((shown_path(path), "no file to pair with") for path in orphans),
        )
    allowed = ", ".join(sorted(file_types))
    for path, name, kind in db.kept_out():
        if kind is EntryKind.EMPTY:
            on_skip(path, "empty file (deepset Cloud rejects empty files; its workspace copy is kept)")
        else:
            suffix = file_suffix(name)
            reason = f"unsupported file type {suffix!r}" if suffix else "no file extension"
            on_skip(path, f"{reason} (syncing: {allowed})")
    return skipped


def remote_rows(files: list[File]) -> list[RemoteRow]:
    """The listing rows of one page: the stored hash apart, the user's metadata as canonical JSON."""
    rows = []
    for file in files:
        stored, user = split_reserved(file.meta)
        rows.append(RemoteRow(str(file.file_id), file.name, file.size, stored, canonical_meta(user)))
    return rows


def decide(
    *, local_hash: str, local_meta: str, remote_count: int, remote_hash: str | None, remote_meta: str | None
) -> Action | None:
    """The action for one local file given its namesakes in the workspace; None when it is unchanged.

    Several namesakes (uploaded by other tools) count as a change: the overwriting upload leaves one.
    A file without a stored hash (uploaded without sync) is uploaded again: its content is unknown.
    """
    if remote_count == 0:
        return Action.NEW
    if remote_count > 1 or remote_hash != local_hash:
        return Action.CHANGED
    if remote_meta != local_meta:
        return Action.META
    return None


def classify(
    db: PlanDB,
    cache: HashCache,
    *,
    delete: bool,
    file_types: frozenset[str],
    advance: Callable[[int], None],
    storage_options: StorageOptions | None = None,
) -> PlanCounts:
    """Decide every local file (hashing what the cache does not know) and every gone workspace file.

    Raises:
        ConfigurationError: sidecars are broken (every one named), before anything changes.
    """
    counts = dict.fromkeys(Action, 0)
    unchanged = 0
    broken: list[tuple[Path | str, str]] = []
    unreadable: list[Unreadable] = []

    def rows() -> Any:
        nonlocal unchanged
        for done, candidate in enumerate(db.candidates(cache.file), 1):
            if done % 1000 == 0:
                advance(1000)
            meta = _local_meta(candidate, broken, storage_options)
            if meta is None:
                continue
            try:
                local_hash = candidate.cached_hash or cache.compute(
                    candidate.path, candidate.size, candidate.mtime_ns
                )
            except OSError as exc:
                unreadable.append(Unreadable(candidate.name, candidate.path, f"cannot be read ({exc})"))
                continue
            action = decide(
                local_hash=local_hash,
                local_meta=meta,
                remote_count=candidate.remote_count,
                remote_hash=candidate.remote_hash,
                remote_meta=candidate.remote_meta,
            )
            if action is None:
                unchanged += 1
                continue
            counts[action] += 1
            yield PlanRow(
                action,
                candidate.name,
                candidate.path,
                candidate.size,
                local_hash,
                meta,
                candidate.file_id,
                candidate.remote_meta,
            )
        if delete:
            for file_id, name in db.gone():
                if _deletable(name, file_types):
                    counts[Action.DELETE] += 1
                    yield PlanRow(Action.DELETE, name, None, 0, None, None, file_id, None)

    db.add_plan(rows())
    cache.flush()
    if broken:
        details = "; ".join(f"{path}: {reason}" for path, reason in broken[:_SHOWN])
        raise ConfigurationError(
            f"{len(broken)} invalid metadata sidecar(s): {details}", broken_sidecars=tuple(broken)
        )
    return PlanCounts(
        new=counts[Action.NEW],
        changed=counts[Action.CHANGED],
        meta=counts[Action.META],
        unchanged=unchanged,
        delete=counts[Action.DELETE],
        unreadable=tuple(unreadable),
    )


def _deletable(name: str, file_types: frozenset[str]) -> bool:
    # Files of types this sync does not select are not its business (rclone's rule for excluded files).
    return not name.endswith(META_SUFFIX) and file_suffix(name) in file_types


def _local_meta(
    candidate: Candidate, broken: list[tuple[Path | str, str]], storage_options: StorageOptions | None
) -> str | None:
    """The canonical JSON of the file's sidecar ("{}" without one); None (and `broken`) if unusable."""
    if candidate.sidecar is None:
        return "{}"
    sidecar = shown_path(candidate.sidecar)
    try:
        raw = read_bytes(candidate.sidecar, storage_options)
        value = json.loads(raw)
    except OSError as exc:
        broken.append((sidecar, f"cannot be read ({exc.strerror or exc})"))
        return None
    except ValueError as exc:
        broken.append((sidecar, f"is not valid JSON ({exc})"))
        return None
    if not isinstance(value, dict):
        broken.append((sidecar, f"must hold a JSON object, not {type(value).__name__}"))
        return None
    if CONTENT_HASH_KEY in value:
        broken.append((sidecar, f"uses the key {CONTENT_HASH_KEY!r}, which sync reserves for content hashes"))
        return None
    return canonical_meta(value)
