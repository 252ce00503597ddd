"""Download the files of a workspace into a folder: list pages, fetch each page's files concurrently.

Every file is streamed into a hidden temporary file in the target folder and renamed into place only when
it (and its metadata, if requested) arrived completely, so a failure never leaves half a file behind.
Names from the server are reduced to one safe path component: nothing is written outside `file_dir`.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
import uuid
from pathlib import Path, PurePosixPath
from typing import Any
from uuid import UUID

import anyio

from deepset_cloud._corpus.meta import strip_reserved
from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.pagination import iterate_file_pages
from deepset_cloud._upload.discovery import META_SUFFIX
from deepset_cloud.errors import ConfigurationError, DeepsetCloudError, OperationTimeoutError
from deepset_cloud.models import DownloadReport, FailedDownload, File

__all__ = ["LocalNames", "download_files", "safe_file_name"]

logger = logging.getLogger("deepset_cloud")

_MAX_NAME_BYTES = 200  # leaves room for "_123" and ".meta.json" under the usual 255-byte limit
_WINDOWS_RESERVED = {"CON", "PRN", "AUX", "NUL"} | {f"{p}{n}" for p in ("COM", "LPT") for n in range(1, 10)}
_WINDOWS_FORBIDDEN = set('<>:"|?*')


def safe_file_name(name: str, file_id: UUID, *, windows: bool = os.name == "nt") -> str:
    """Reduce a server-provided file name to one harmless path component.

    Directory parts (`/`, `\\`) are dropped, control characters replaced, `.`/`..`/empty names replaced
    by the file id, and overlong names shortened (keeping the extension).
    """
    base = PurePosixPath(name.replace("\\", "/")).name if name else ""
    base = "".join("_" if unicodedata.category(char) == "Cc" else char for char in base)
    if windows:
        base = "".join("_" if char in _WINDOWS_FORBIDDEN else char for char in base).rstrip(" .")
        if base.split(".")[0].upper() in _WINDOWS_RESERVED:
            base = "_" + base
    base = base.strip()
    if base in ("", ".", ".."):
        return str(file_id)
    if len(base.encode("utf-8")) > _MAX_NAME_BYTES:
        suffix = PurePosixPath(base).suffix
        suffix = suffix if len(suffix.encode("utf-8")) <= 20 else ""
        stem = base[: len(base) - len(suffix)] if suffix else base
        while len((stem + suffix).encode("utf-8")) > _MAX_NAME_BYTES:
            stem = stem[:-1]
        base = stem + suffix
    return base


class LocalNames:
    """Hands out unique local names in one folder: `<stem>_1<ext>`, `_2`, ... when a name is taken."""

    def __init__(self, folder: Path, *, include_meta: bool) -> None:
        self._folder = folder
        self._include_meta = include_meta
        # Names are compared case-insensitively, so downloads behave the same on every file system.
        self._reserved: set[str] = {name.casefold() for name in os.listdir(folder)}

    def _taken(self, candidate: str) -> bool:
        names = [candidate, candidate + META_SUFFIX] if self._include_meta else [candidate]
        return any(
            name.casefold() in self._reserved or os.path.lexists(self._folder / name) for name in names
        )

    def reserve(self, safe_name: str) -> Path:
        """Reserve and return a free path for `safe_name` (synchronous, so concurrent callers cannot race)."""
        candidate = safe_name
        path = PurePosixPath(safe_name)
        stem, suffix = (path.stem, path.suffix) if path.stem else (safe_name, "")
        counter = 0
        while self._taken(candidate):
            counter += 1
            candidate = f"{stem}_{counter}{suffix}"
        self._reserved.add(candidate.casefold())
        if self._include_meta:
            self._reserved.add((candidate + META_SUFFIX).casefold())
        return self._folder / candidate

    def release(self, path: Path) -> None:
        """Give a reserved name back (its download failed)."""
        self._reserved.discard(path.name.casefold())
        self._reserved.discard((path.name + META_SUFFIX).casefold())


def _prepare_folder(file_dir: Path) -> Path:
    try:
        file_dir.mkdir(parents=True, exist_ok=True)
    except FileExistsError as exc:
        raise ConfigurationError(f"file_dir {str(file_dir)!r} exists and is not a folder.") from exc
    except OSError as exc:
        raise ConfigurationError(f"cannot create file_dir {str(file_dir)!r}: {exc.strerror or exc}") from exc
    if not file_dir.is_dir():
        raise ConfigurationError(f"file_dir {str(file_dir)!r} is not a folder.")
    return file_dir.resolve()


def _remove_quietly(*paths: Path) -> None:
    for path in paths:
        try:
            path.unlink(missing_ok=True)
        except OSError:
            logger.debug("could not remove %s", path)


class _Downloader:
    def __init__(self, api: DeepsetCloudAPI, workspace: str, folder: Path, *, include_meta: bool) -> None:
        self.api = api
        self.workspace = workspace
        self.folder = folder
        self.include_meta = include_meta
        self.names = LocalNames(folder, include_meta=include_meta)
        self.results: list[Path | FailedDownload] = []

    async def one(self, file: File) -> Path | FailedDownload:
        """Download one file (and its metadata); return its path, or why it failed."""
        dest = self.names.reserve(safe_file_name(file.name, file.file_id))
        if dest.parent != self.folder:  # defence in depth; safe_file_name returns one component
            return FailedDownload(file_id=file.file_id, name=file.name, reason="unsafe file name")
        token = uuid.uuid4().hex[:12]
        part = self.folder / f".{token}.download"
        meta_part = self.folder / f".{token}.meta.download"
        try:
            # A body larger than the listed size is refused (a gzip bomb, a wrong file); `part` is removed.
            await self.api.download_file(self.workspace, file.file_id, part, max_bytes=file.size)
            if self.include_meta:
                # sync's content hash is internal: the saved metadata is the user's own.
                meta: dict[str, Any] = strip_reserved(
                    await self.api.get_file_meta(self.workspace, file.file_id)
                )
                await anyio.Path(meta_part).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
                os.replace(meta_part, dest.with_name(dest.name + META_SUFFIX))
            os.replace(part, dest)
        except (DeepsetCloudError, OSError) as exc:
            _remove_quietly(part, meta_part, dest.with_name(dest.name + META_SUFFIX))
            self.names.release(dest)
            reason = str(exc) if isinstance(exc, DeepsetCloudError) else f"cannot write {dest.name}: {exc}"
            logger.warning("download of %r (%s) failed: %s", file.name, file.file_id, reason)
            return FailedDownload(file_id=file.file_id, name=file.name, reason=reason)
        except BaseException:
            _remove_quietly(part, meta_part)
            raise
        return dest

    def report(self) -> DownloadReport:
        return DownloadReport(
            downloaded=tuple(item for item in self.results if isinstance(item, Path)),
            failed=tuple(item for item in self.results if isinstance(item, FailedDownload)),
        )


async def download_files(
    api: DeepsetCloudAPI,
    workspace: str,
    *,
    file_dir: Path,
    name: str | None = None,
    odata_filter: str | None = None,
    include_meta: bool = True,
    batch_size: int = 50,
    show_progress: bool = True,
    timeout_s: float | None = None,
    concurrency: int = 10,
) -> DownloadReport:
    """Download every matching file of `workspace` into `file_dir`; per-file failures are reported.

    Raises:
        ConfigurationError: `file_dir` cannot be used as a folder.
        OperationTimeoutError: the whole download took longer than `timeout_s`; its `download_report`
            lists every file saved before that (also those of the page in flight).
        APIError, TransportError: listing the files failed.
    """
    folder = _prepare_folder(file_dir)
    downloader = _Downloader(api, workspace, folder, include_meta=include_meta)
    limiter = anyio.CapacityLimiter(max(1, concurrency))
    from tqdm.auto import tqdm

    progress = tqdm(desc="Download", unit="file", disable=not show_progress)

    async def limited(file: File, results: list[Path | FailedDownload | None], index: int) -> None:
        async with limiter:
            results[index] = await downloader.one(file)
        progress.update(1)

    try:
        with anyio.move_on_after(timeout_s) as scope:
            pages = iterate_file_pages(
                api, workspace, name=name, odata_filter=odata_filter, batch_size=batch_size
            )
            try:
                async for page in pages:
                    if progress.total is None and page.total is not None:
                        progress.total = page.total
                        progress.refresh()
                    results: list[Path | FailedDownload | None] = [None] * len(page.data)
                    try:
                        async with anyio.create_task_group() as group:
                            for index, file in enumerate(page.data):
                                group.start_soon(limited, file, results, index)
                    finally:
                        # Also when `timeout_s` cuts the page short: what was saved is reported. Keep
                        # the listing order, whatever order the downloads finished in.
                        downloader.results.extend(item for item in results if item is not None)
            finally:
                await pages.aclose()
    finally:
        progress.close()
    report = downloader.report()
    if scope.cancelled_caught and timeout_s is not None:
        raise OperationTimeoutError(
            f"download did not finish within timeout_s={timeout_s:g} s; {len(report.downloaded)} files "
            f"were saved to {str(folder)!r} and {len(report.failed)} failed",
            timeout_s=timeout_s,
            download_report=report,
        )
    return report
