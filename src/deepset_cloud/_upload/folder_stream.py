"""Discovery that streams: one folder (not recursive) feeds the uploader while it is still being listed.

Names in one folder are unique, and a sidecar `X.meta.json` pairs with `X` in the same folder, so every
decision of `discovery.discover_paths` can be taken entry by entry with at most one `stat`: the first
storage post does not wait for the whole listing, and memory does not grow with the folder. Two worker
threads share one `FolderScan`:

- `stream_folder` lists the folder in directory order (no sorting: that would need the whole listing)
  and hands out bundles in small, growing batches; it is the uploader that sets its pace.
- `check_sidecars` lists the folder once more, with no back-pressure, and checks every sidecar: it must
  pair with an uploadable file and hold a JSON object. It finishes long before the upload does, and
  until it has, no upload session is closed: a broken sidecar is named, with all
  others, before anything is ingested. Its JSON is read once more when posted; a check that waited
  for the posts could hold a rolled-over session open until every open-session slot is taken.

Skip reasons, sidecar rules and problems are those of `discovery`; only the order differs.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING
from uuid import UUID

import anyio
import attrs

from deepset_cloud._fileio import LocalPath
from deepset_cloud._upload.discovery import EMPTY_FILE_REASON, META_SUFFIX, validate_sidecar
from deepset_cloud._upload.names import name_problem
from deepset_cloud._upload.options import Bundle, ForwardingUploadAPI, UploadAPI, UploadObject
from deepset_cloud._upload.sources import is_url
from deepset_cloud.errors import ConfigurationError, DeepsetCloudError
from deepset_cloud.models import SkippedFile

if TYPE_CHECKING:
    from anyio.abc import TaskGroup
    from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

__all__ = ["FolderFeed", "FolderScan", "check_sidecars", "stream_folder", "streamable_folder", "walk_folder"]

_FIRST_BATCH = 32  # more than the direct-upload threshold: one hand-over decides the route
_MAX_BATCH = 256
_scandir = os.scandir  # one name for both listings (tests slow a listing down through it)


def streamable_folder(paths: Sequence[Path | str], *, recursive: bool) -> Path | None:
    """The folder to stream if the upload is one existing local folder without `recursive`, else None."""
    if recursive or len(paths) != 1 or is_url(paths[0]):  # URLs are listed by fsspec
        return None
    folder = Path(os.fspath(paths[0]))
    try:
        return folder if stat.S_ISDIR(os.stat(folder).st_mode) else None
    except OSError:
        return None


@attrs.define(eq=False)
class FolderScan:
    """What the two threads found, and the flags they are steered with."""

    folder: Path
    file_types: frozenset[str]
    skipped: list[SkippedFile] = attrs.Factory(list)
    broken: list[tuple[Path, str]] = attrs.Factory(list)
    sidecars: int = 0
    """Sidecar entries the check has seen so far (once it is complete: all of them)."""
    complete: bool = False
    """Set by the check when it has seen every entry (not when it was stopped or failed)."""
    stop: bool = False
    """Set by the event loop: both threads end at their next entry."""

    def broken_sidecars_error(self) -> ConfigurationError | None:
        """The error naming every broken sidecar (after the check), or None."""
        if not self.broken:
            return None
        broken = sorted(self.broken, key=lambda item: str(item[0]))
        details = "; ".join(f"{path}: {reason}" for path, reason in broken)
        return ConfigurationError(
            f"{len(broken)} invalid metadata sidecar(s): {details}", broken_sidecars=tuple(broken)
        )


def _uploadable(name: str, file_types: frozenset[str]) -> bool:
    if name.endswith(META_SUFFIX):
        return False
    dot = name.rfind(".")
    return dot > 0 and name[dot:].lower() in file_types


def _unstorable(name: str, size: int) -> str | None:
    """Why an uploadable file is skipped after all: a name that cannot be stored, or no content."""
    problem = name_problem(name)
    if problem is not None:
        return f"cannot be stored under its name: {problem}"
    return EMPTY_FILE_REASON if size == 0 else None


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _kept_stat(name: str, status: os.stat_result | None, file_types: frozenset[str]) -> bool:
    """Whether the file `name` whose `os.stat` is `status` (None: not there) is uploaded."""
    return (
        status is not None
        and stat.S_ISREG(status.st_mode)
        and _uploadable(name, file_types)
        and _unstorable(name, status.st_size) is None
    )


def _is_regular(path: str) -> bool:
    status = _stat(path)
    return status is not None and stat.S_ISREG(status.st_mode)


def _skip_reason(name: str, file_types: frozenset[str]) -> str:
    dot = name.rfind(".")
    suffix = name[dot:].lower() if dot > 0 else ""
    reason = f"unsupported file type {suffix!r}" if suffix else "no file extension"
    return f"{reason} (uploading: {', '.join(sorted(file_types))})"


def _other_entry_reason(entry: os.DirEntry[str]) -> str | None:
    """Why an entry that is not a regular file is skipped (None: it is one after all)."""
    try:
        if entry.is_dir(follow_symlinks=False):
            return "directory (recursive=False)"
        mode = entry.stat().st_mode
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if stat.S_ISDIR(mode):
        return "symbolic link to a directory (not followed)"
    return None if stat.S_ISREG(mode) else "not a regular file"


def walk_folder(scan: FolderScan) -> Iterator[list[Bundle]]:
    """List the folder and yield its bundles in batches (the first at once, later ones in bulk).

    The event loop takes the first batch itself (a few dozen entries: no thread hand-over before the first
    post); a worker thread then runs the rest through `stream_folder`. Ends early on `scan.stop` or
    when a broken sidecar was found.
    """
    folder, file_types = scan.folder, scan.file_types
    base = os.path.join(folder, "")
    batch: list[Bundle] = []
    limit = _FIRST_BATCH
    # A pair goes out with whichever of its two entries is listed first, the other entry is skipped: a
    # folder listed newest first whose sidecars were written after their files starts with sidecars.
    # Only pairs seen from one side are remembered (~100 bytes each).
    half_seen: set[str] = set()
    try:
        listing = _scandir(folder)
    except OSError as exc:
        scan.skipped.append(SkippedFile(path=folder, reason=f"cannot be listed ({exc.strerror or exc})"))
        return
    with listing as entries:
        for entry in entries:
            if scan.stop or scan.broken:
                return
            name = entry.name
            try:
                regular = entry.is_file()  # from the directory listing: no stat for a plain file
            except OSError:
                regular = False
            if not regular:
                reason = _other_entry_reason(entry)
                if reason is not None:
                    scan.skipped.append(SkippedFile(path=folder / name, reason=reason))
                    continue
            if name.endswith(META_SUFFIX):
                target = name[: -len(META_SUFFIX)]
                if target in half_seen:
                    half_seen.discard(target)  # its file was listed first and took it along
                    continue
                target_status = None if target.endswith(META_SUFFIX) else _stat(base + target)
                if target_status is not None and stat.S_ISREG(target_status.st_mode):
                    if not _kept_stat(target, target_status, file_types):
                        scan.skipped.append(
                            SkippedFile(path=folder / name, reason=f"its file {target!r} is skipped")
                        )
                        continue
                    half_seen.add(target)  # listed before its file: the pair goes out now
                    batch.append(
                        Bundle(
                            file=UploadObject(target, LocalPath(base + target)),
                            sidecar=UploadObject(name, LocalPath(base + name)),
                        )
                    )
                    if len(batch) >= limit:
                        yield batch
                        batch = []
                        limit = min(limit * 2, _MAX_BATCH)
                continue  # (no file to pair with: the check names it)
            if not _uploadable(name, file_types):
                scan.skipped.append(SkippedFile(path=folder / name, reason=_skip_reason(name, file_types)))
                continue
            if name in half_seen:
                half_seen.discard(name)  # went out with its sidecar, which was listed first
                continue
            try:
                size = entry.stat().st_size
            except OSError as exc:
                scan.skipped.append(
                    SkippedFile(path=folder / name, reason=f"cannot be read ({exc.strerror or exc})")
                )
                continue
            unstorable = _unstorable(name, size)
            if unstorable is not None:
                scan.skipped.append(SkippedFile(path=folder / name, reason=unstorable))
                continue
            sidecar_name = name + META_SUFFIX
            sidecar_path = base + sidecar_name
            sidecar = None
            # A folder the check found without sidecars needs no probe per file (a failed stat costs
            # more than the post's own reads).
            if (scan.sidecars or not scan.complete) and _is_regular(sidecar_path):
                half_seen.add(name)  # its sidecar's entry is still to come
                sidecar = UploadObject(sidecar_name, LocalPath(sidecar_path))
            batch.append(Bundle(file=UploadObject(name, LocalPath(base + name)), sidecar=sidecar))
            if len(batch) >= limit:
                yield batch
                batch = []
                limit = min(limit * 2, _MAX_BATCH)
    if batch and not scan.stop and not scan.broken:
        yield batch


def stream_folder(walk: Iterator[list[Bundle]], emit: Callable[[list[Bundle]], bool]) -> None:
    """Hand every batch of `walk` to `emit` until it returns False; then close the listing.

    Runs in a worker thread; `emit` blocks while the uploader is busy (that is the back-pressure).
    """
    try:
        for batch in walk:
            if not emit(batch):
                return
    finally:
        close = getattr(walk, "close", None)
        if close is not None:
            close()


def check_sidecars(scan: FolderScan) -> None:
    """Check every sidecar of the folder and count them; set `scan.complete` at the end.

    Runs in a worker thread, independently of the upload's pace. Entries that are not sidecars cost no
    system call here (the stream decides about them).
    """
    folder, file_types = scan.folder, scan.file_types
    base = os.path.join(folder, "")
    try:
        listing = _scandir(folder)
    except OSError:  # the stream reports the folder as skipped
        scan.complete = True
        return
    with listing as entries:
        for index, entry in enumerate(entries):
            if scan.stop:
                return
            if not index % 64:
                time.sleep(0)  # hand the interpreter lock to the event loop now and then
            name = entry.name
            if not name.endswith(META_SUFFIX):
                continue
            try:
                if not entry.is_file():
                    continue  # skipped by the stream, with its reason
            except OSError:
                continue
            scan.sidecars += 1
            target = name[: -len(META_SUFFIX)]
            target_status = None if target.endswith(META_SUFFIX) else _stat(base + target)
            if _kept_stat(target, target_status, file_types):
                problem = validate_sidecar(folder / name)
                if problem is not None:
                    scan.broken.append((folder / name, problem))
            elif target_status is None or not stat.S_ISREG(target_status.st_mode):
                scan.broken.append((folder / name, f"no file named {target!r} to pair with"))
            # else: skipped with its file
    scan.complete = True


# -- the event loop's side ---------------------------------------------------------------------------------


class FolderFeed:
    """Runs both threads of a `FolderScan` and hands their bundles to the uploader, in order.

    Use as `async with FolderFeed(scan) as feed`; leaving it stops both threads and waits for them.
    """

    def __init__(self, scan: FolderScan, *, buffered_batches: int = 4) -> None:
        self.scan = scan
        self._buffered = buffered_batches
        self._checked = anyio.Event()
        self._stream_error: BaseException | None = None
        self._check_error: BaseException | None = None
        self._receive: MemoryObjectReceiveStream[list[Bundle]] | None = None
        self._task_group: TaskGroup | None = None
        self._check_go = anyio.Event()
        self._walk: Iterator[list[Bundle]] = walk_folder(scan)
        self._send: MemoryObjectSendStream[list[Bundle]] | None = None

    async def __aenter__(self) -> FolderFeed:
        send, receive = anyio.create_memory_object_stream[list[Bundle]](max_buffer_size=self._buffered)
        self._receive = receive
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        self._send = send
        self._task_group.start_soon(self._run_check)
        return self

    def _start_check(self) -> None:
        # Let go once the first posts are queued: the check would otherwise compete with them for the
        # interpreter lock.
        self._check_go.set()

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        self.scan.stop = True
        self._check_go.set()  # a check not started yet ends at once
        assert self._receive is not None
        assert self._task_group is not None
        self._receive.close()  # a stream thread waiting to hand over a batch gives up
        if self._send is not None:  # the stream thread never started: the listing is closed here
            self._send.close()
            close = getattr(self._walk, "close", None)
            if close is not None:
                close()
        # The threads end at their next entry. Their task group is left as if nothing was raised, so
        # an error of the upload leaves as itself, never wrapped in an ExceptionGroup.
        await self._task_group.__aexit__(None, None, None)
        return None

    async def _run_check(self) -> None:
        try:
            # Shielded: a cancelled upload still closes its sessions, and for that the check must finish.
            with anyio.CancelScope(shield=True):
                await self._check_go.wait()
                await anyio.to_thread.run_sync(check_sidecars, self.scan)
        except Exception as exc:  # kept for the gate: an unchecked folder never has a session closed
            self._check_error = exc
        finally:
            self._checked.set()

    def _start_stream(self) -> None:
        if self._send is not None:
            send, self._send = self._send, None
            assert self._task_group is not None
            self._task_group.start_soon(self._run_stream, send)

    async def _run_stream(self, send: MemoryObjectSendStream[list[Bundle]]) -> None:
        def emit(batch: list[Bundle]) -> bool:
            try:
                anyio.from_thread.run(send.send, batch)
            except (anyio.BrokenResourceError, anyio.ClosedResourceError):
                return False  # the uploader is gone: it stopped for its own reason
            return True

        try:
            await anyio.to_thread.run_sync(stream_folder, self._walk, emit)
        except Exception as exc:  # raised to the uploader at the end of the stream, never swallowed
            self._stream_error = exc
        finally:
            send.close()

    async def head(self, max_objects: int) -> tuple[list[Bundle], bool]:
        """Take bundles until they hold more than `max_objects` objects or the folder ends.

        Returns:
            The bundles taken, and whether they are the whole folder.
        """
        try:  # the first batch is listed right here: the first post waits for no thread
            taken = next(self._walk, [])
        except Exception as exc:
            self._stream_error = exc
            self._start_check()
            self._raise_stream_error()
            raise
        objects = sum(bundle.object_count for bundle in taken)
        self._start_stream()
        assert self._receive is not None
        while objects <= max_objects:
            try:
                batch = await self._receive.receive()
            except anyio.EndOfStream:
                self._start_check()
                self._raise_stream_error()
                return taken, True
            self._start_check()
            taken += batch
            objects += sum(bundle.object_count for bundle in batch)
        return taken, False

    async def batches(self, head: Sequence[Bundle]) -> AsyncIterator[Sequence[Bundle]]:
        """`head`, then every batch still to come; at the end, raise if a sidecar is broken."""
        if head:
            yield head
        self._start_check()  # the first posts are under way: the check no longer delays them
        assert self._receive is not None
        async for batch in self._receive:
            yield batch
        self._raise_stream_error()
        await self.wait_checked()

    async def wait_checked(self) -> None:
        """Wait until every sidecar is checked.

        Raises:
            ConfigurationError: sidecars are broken (every one named) or the check could not finish.
        """
        self._start_check()
        await self._checked.wait()
        error = self.scan.broken_sidecars_error()
        if error is not None:
            raise error
        if self._check_error is not None or not self.scan.complete:
            raise ConfigurationError(
                f"the sidecars in {self.scan.folder} could not be checked: {self._check_error}"
            ) from self._check_error

    def _raise_stream_error(self) -> None:
        if self._stream_error is not None:
            raise DeepsetCloudError(
                f"listing {self.scan.folder} failed: {self._stream_error}"
            ) from self._stream_error

    def gate(self, api: UploadAPI) -> UploadAPI:
        """`api` whose session closes wait for the sidecar check and refuse if it failed."""
        return _CheckedCloseAPI(api, self)


class _CheckedCloseAPI(ForwardingUploadAPI):
    """Closes a session only once every sidecar of the folder is known to be good.

    A session that is never closed is never ingested: with a broken sidecar, nothing of the upload
    reaches the workspace and the open sessions expire unused.
    """

    def __init__(self, api: UploadAPI, feed: FolderFeed) -> None:
        super().__init__(api)
        self._feed = feed

    async def close_upload_session(self, workspace: str, session_id: UUID) -> None:
        try:
            await self._feed.wait_checked()
        except ConfigurationError as exc:
            raise ConfigurationError(
                f"upload session {session_id} is left open (it expires unused), so nothing of this "
                f"upload is ingested: {exc}",
                broken_sidecars=exc.broken_sidecars,
            ) from exc
        await self._api.close_upload_session(workspace, session_id)
