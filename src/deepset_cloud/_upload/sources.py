"""Where files come from: the local disk, or object storage through fsspec (`s3://bucket/prefix/`).

Discovery and the storage poster see one small interface. A local file is a `Path`; an object in any
fsspec filesystem is a `RemoteObject`, which knows its URL, its size and how to read itself whole (small
objects) or as a file to stream in chunks (large ones), so no object is ever copied to local disk and
memory stays bounded by the number of objects in flight. `walk_url` lists a URL like the local walk
lists a path: every object found is yielded or recorded as skipped with a reason.

fsspec (and the filesystem package of a protocol, e.g. s3fs) is imported only when a URL is given, so
the `s3` extra stays optional. Errors of fsspec and its backends become our `ConfigurationError` (while
discovering) or `UploadError` (while reading), always naming the URL; `storage_options` never appear in
a message (they may hold secrets).
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import IO, Any

import attrs

from deepset_cloud.errors import ConfigurationError, UploadError
from deepset_cloud.models import SkippedFile

__all__ = [
    "RemoteObject",
    "StorageOptions",
    "is_url",
    "open_binary",
    "open_filesystem",
    "read_bytes",
    "remote_object",
    "shown_path",
    "upload_source",
    "walk_url",
]

StorageOptions = Mapping[str, Any]
"""Keyword arguments for the fsspec filesystem of a URL (e.g. `{"key": ..., "secret": ...}` for S3)."""

_READ_BLOCK_BYTES = 1024 * 1024
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_INSTALL_HINT = (
    "install the 's3' extra (pip install 'deepset-cloud[s3]') or the fsspec package of the protocol"
)


def is_url(path: object) -> bool:
    """Whether `path` is an fsspec URL (`scheme://...`); `Path` objects never are."""
    return isinstance(path, str) and _URL.match(path) is not None


@attrs.frozen(slots=True, eq=False)
class RemoteObject:
    """One object in an fsspec filesystem.

    Attributes:
        url: the object's URL, as shown in reports and errors.
        size: its size in bytes as listed, or None when it was not listed (asked when it is read).
    """

    fs: Any = attrs.field(repr=False)  # an fsspec AbstractFileSystem (no fsspec type in our signatures)
    path: str = attrs.field(repr=False)  # the filesystem's own path for the object (no protocol)
    url: str
    size: int | None

    def get_size(self) -> int:
        """Return the size in bytes (blocking: one metadata request when it was not listed).

        Raises:
            UploadError: the object does not exist or cannot be reached.
        """
        if self.size is not None:
            return self.size
        try:
            return int(self.fs.size(self.path))
        except Exception as exc:
            raise _read_error(self.url, exc) from exc

    def read(self) -> bytes:
        """Return the whole content (blocking; run it in a worker thread).

        Raises:
            UploadError: the object cannot be read.
        """
        try:
            data: bytes = self.fs.cat_file(self.path)
        except Exception as exc:  # fsspec backends raise anything from OSError to botocore errors
            raise _read_error(self.url, exc) from exc
        return data

    def open(self, block_size: int) -> IO[bytes]:
        """Open the object for streaming reads (blocking; run it in a worker thread).

        Raises:
            UploadError: the object cannot be opened.
        """
        try:
            handle: IO[bytes] = self.fs.open(self.path, "rb", block_size=block_size)
        except Exception as exc:
            raise _read_error(self.url, exc) from exc
        return handle

    def read_error(self, exc: BaseException) -> UploadError:
        """Return the `UploadError` for a failed read of this object."""
        return _read_error(self.url, exc)


def open_filesystem(url: str, storage_options: StorageOptions | None) -> tuple[Any, str]:
    """Return the fsspec filesystem for `url` and the path within it.

    Raises:
        ConfigurationError: fsspec or the protocol's package is missing, or the options are invalid.
    """
    try:
        import fsspec.core
    except ImportError:
        raise ConfigurationError(f"cannot read {url}: URLs need fsspec; {_INSTALL_HINT}") from None
    try:
        fs, path = fsspec.core.url_to_fs(url, **dict(storage_options or {}))
    except ImportError as exc:
        raise ConfigurationError(f"cannot read {url}: {exc}; {_INSTALL_HINT}") from None
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(f"cannot read {url}: invalid URL or storage_options ({exc})") from None
    return fs, path


def remote_object(url: str, storage_options: StorageOptions | None) -> RemoteObject:
    """Return the object at `url` (blocking: one metadata request).

    Raises:
        ConfigurationError: the object does not exist, is a folder, or cannot be reached.
    """
    fs, path = open_filesystem(url, storage_options)
    info = _info(fs, path, url)
    if info.get("type") == "directory":
        raise ConfigurationError(f"{url} is a folder, not an object")
    return RemoteObject(fs=fs, path=path, url=url, size=int(info.get("size") or 0))


def shown_path(path: str) -> Path | str:
    """How a path given as text appears in reports: a `Path`, or the URL of an object."""
    return path if is_url(path) else Path(path)


def open_binary(path: str, storage_options: StorageOptions | None) -> IO[bytes]:
    """Open a local file or an object (by URL) for reading bytes (blocking).

    Raises:
        OSError: it cannot be opened; for a URL the message names it (any backend error becomes one).
    """
    if not is_url(path):
        return open(path, "rb", buffering=0)
    try:
        fs, inner = open_filesystem(path, storage_options)
        handle: IO[bytes] = fs.open(inner, "rb", block_size=_READ_BLOCK_BYTES)
    except Exception as exc:
        raise OSError(f"cannot read {path}: {_describe(exc)}") from exc
    return handle


def read_bytes(path: str, storage_options: StorageOptions | None) -> bytes:
    """Return the whole content of a local file or an object (blocking).

    Raises:
        OSError: it cannot be read; for a URL the message names it.
    """
    with open_binary(path, storage_options) as handle:
        try:
            return handle.read()
        except OSError:
            raise
        except Exception as exc:
            raise OSError(f"cannot read {path}: {_describe(exc)}") from exc


def upload_source(path: str, storage_options: StorageOptions | None, size: int) -> Path | RemoteObject:
    """What the storage poster reads for a path given as text: the local file, or the object.

    Raises:
        ConfigurationError: the URL's filesystem is not installed or its options are invalid.
    """
    if not is_url(path):
        return Path(path)
    fs, inner = open_filesystem(path, storage_options)
    return RemoteObject(fs=fs, path=inner, url=path, size=size)


Found = tuple[RemoteObject, str, str, int]
"""An object found: the object, its base name, its key against listing it twice, its mtime in ns."""


def walk_url(
    url: str,
    *,
    recursive: bool,
    storage_options: StorageOptions | None,
    skipped: list[SkippedFile],
) -> Iterator[Found]:
    """Yield every object at or under `url`, like the local walk; record folders not walked as skipped.

    Raises:
        ConfigurationError: the URL does not exist (e.g. no such bucket), access is denied, or no
            credentials were found; the message names the URL.
    """
    fs, root = open_filesystem(url, storage_options)
    protocol = _protocol(url)
    info = _info(fs, root, url)
    if info.get("type") != "directory":
        yield _found(fs, protocol, info, path=str(info.get("name") or root), url=url)
        return
    try:
        entries = fs.find(root, detail=True, withdirs=False) if recursive else fs.ls(root, detail=True)
    except Exception as exc:
        raise _discovery_error(url, exc) from exc
    listing = entries.values() if isinstance(entries, dict) else entries
    base = root.rstrip("/")
    for entry in sorted(listing, key=lambda item: str(item.get("name", ""))):
        entry_path = str(entry.get("name", "")).rstrip("/")
        if entry_path == base or not entry_path.startswith(base + "/"):
            continue  # some filesystems list the folder itself
        # Shown as the URL the user gave plus the relative key, so reports read like the input.
        entry_url = url.rstrip("/") + "/" + entry_path[len(base) + 1 :]
        if entry.get("type") == "directory":
            skipped.append(SkippedFile(path=entry_url, reason="directory (recursive=False)"))
            continue
        yield _found(fs, protocol, entry, path=entry_path, url=entry_url)


def _found(fs: Any, protocol: str, info: Mapping[str, Any], *, path: str, url: str) -> Found:
    obj = RemoteObject(fs=fs, path=path, url=url, size=int(info.get("size") or 0))
    # The key against listing an object twice is canonical: the same object under two spellings of a URL.
    return obj, posixpath.basename(path), f"{protocol}::{path}", _mtime_ns(info)


def _protocol(url: str) -> str:
    return url.split("://", 1)[0]


def _mtime_ns(info: Mapping[str, Any]) -> int:
    """The modification time in ns, wherever the backend keeps it (0 if nowhere): newest wins on duplicates."""
    for key in ("mtime", "LastModified", "last_modified", "updated", "created"):
        value = info.get(key)
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=timezone.utc)
            return int(value.timestamp() * 1e9)
        if isinstance(value, (int, float)):
            return int(value * 1e9)
    return 0


def _info(fs: Any, path: str, url: str) -> dict[str, Any]:
    try:
        info: dict[str, Any] = fs.info(path)
    except Exception as exc:
        raise _discovery_error(url, exc) from exc
    return info


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "NoAuthTokenError"):
        return "no credentials found (pass them in storage_options or configure the provider's credentials)"
    if isinstance(exc, FileNotFoundError):
        return "does not exist (no such bucket, folder or object)"
    if isinstance(exc, PermissionError):
        return f"access denied ({exc})"
    text = str(exc)
    return f"{name}: {text}" if text else name


def _discovery_error(url: str, exc: BaseException) -> ConfigurationError:
    if isinstance(exc, FileNotFoundError):
        return ConfigurationError(f"path does not exist: {url} ({_describe(exc)})", missing_paths=(url,))
    return ConfigurationError(f"cannot list {url}: {_describe(exc)}")


def _read_error(url: str, exc: BaseException) -> UploadError:
    # A vanished object or denied access will not heal by retrying the storage post.
    return UploadError(
        f"cannot read {url}: {_describe(exc)}", file_name=posixpath.basename(url), is_retryable=False
    )
