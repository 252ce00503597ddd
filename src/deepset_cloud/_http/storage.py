"""The presigned POST of one object to S3: the hot path of a session upload.

A session's policy fields are the same for every object, so the multipart head (every field part, in
the server's order) is built once per session as bytes; per object only the `file` part header and the
closing boundary are added. Small bodies go out as one bytes object; large files are streamed from disk
(and large objects from object storage, through an `ObjectReader`) in chunks with an exact
Content-Length (S3 does not take chunked bodies). No Authorization or deepset
header is ever sent here: the shared aiohttp session carries no default auth.

S3 answers errors with XML (`<Error><Code>...</Code><Message>...</Message></Error>`); they become
`UploadError`s, retryable for throttling, server errors and broken connections. Re-posting the same
key replaces the object, so every attempt is safe to repeat. The object is stored under its name as
given (percent-encoded in the `filename` parameter, which the storage endpoint decodes once): the one
naming rule of `deepset_cloud._upload.names`, the same as on the direct path.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import os
import re
import uuid
from collections.abc import AsyncGenerator, Awaitable, Callable, Mapping
from functools import partial
from pathlib import Path
from typing import IO, Any, Protocol
from urllib.parse import quote

import aiohttp
import anyio
import attrs

from deepset_cloud._fileio import LocalPath, read_file
from deepset_cloud._http.errors import parse_retry_after, sanitized
from deepset_cloud._http.proxies import request_args
from deepset_cloud._retry import Retrier
from deepset_cloud.errors import UploadError

__all__ = [
    "INLINE_READ_BYTES",
    "STREAM_THRESHOLD_BYTES",
    "AnswerDeadlines",
    "MultipartTemplate",
    "ObjectReader",
    "PresignedPost",
    "S3Timeouts",
    "parse_s3_error",
    "s3_upload_error",
]

INLINE_READ_BYTES = 64 * 1024
"""Files up to this size are read on the event loop (cheaper than a thread hop for a page-cache hit)."""
STREAM_THRESHOLD_BYTES = 1024 * 1024
"""Files above this size are streamed from disk instead of being read whole."""
CHUNK_BYTES = 256 * 1024

_RETRYABLE_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
# A 400 with these codes comes from a connection that broke mid-body, not from a bad request.
_RETRYABLE_400_CODES = frozenset({"RequestTimeout", "IncompleteBody"})
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_MAX_ERROR_BODY = 4096


# Names that `quote(name, safe="")` leaves as they are: most names, checked faster than quoted.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_.~-]*\Z").match


def _quote_field_name(name: str) -> str:
    if any(character in name for character in '\r\n"\\'):
        # RFC 7578 percent-encoding keeps the header on one line and unambiguous.
        return quote(name, safe="")
    return name


@attrs.frozen
class MultipartTemplate:
    """The bytes of a presigned POST that do not depend on the object: built once per session.

    Attributes:
        boundary: the multipart boundary.
        head: every policy field part, in order.
        tail: the closing boundary.
        content_type: the request's Content-Type header value.
    """

    boundary: str
    head: bytes
    tail: bytes
    content_type: str

    @classmethod
    def build(cls, fields: Mapping[str, str], *, boundary: str | None = None) -> MultipartTemplate:
        """Prebuild the multipart head from the session's policy fields (kept in the server's order)."""
        boundary = boundary or uuid.uuid4().hex
        parts = [
            f'--{boundary}\r\nContent-Disposition: form-data; name="{_quote_field_name(name)}"\r\n\r\n'
            f"{value}\r\n"
            for name, value in fields.items()
        ]
        return cls(
            boundary=boundary,
            head="".join(parts).encode(),
            tail=f"\r\n--{boundary}--\r\n".encode(),
            content_type=f"multipart/form-data; boundary={boundary}",
        )

    def file_part(self, name: str) -> bytes:
        """Return the `file` part header for an object named `name` (percent-encoded)."""
        filename = name if _PLAIN_NAME(name) else quote(name, safe="")
        return (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            "Content-Type: text/plain\r\n\r\n"
        ).encode()

    def prefix(self, name: str) -> bytes:
        """Return the head plus the `file` part header for an object named `name`."""
        return self.head + self.file_part(name)

    def body(self, name: str, content: bytes) -> bytes:
        """Return the whole request body for a small object (one copy of each piece)."""
        return b"".join((self.head, self.file_part(name), content, self.tail))


def parse_s3_error(body: bytes) -> tuple[str | None, str | None]:
    """Return (Code, Message) from an S3 XML error body; None for what is not there."""
    text = body[:_MAX_ERROR_BODY].decode("utf-8", "replace")
    code = re.search(r"<Code>(.*?)</Code>", text, re.DOTALL)
    message = re.search(r"<Message>(.*?)</Message>", text, re.DOTALL)
    return (
        html.unescape(code.group(1).strip()) if code else None,
        html.unescape(message.group(1).strip()) if message else None,
    )


def s3_upload_error(
    file_name: str, status: int, body: bytes, *, retry_after: str | None = None
) -> UploadError:
    """Map a non-success S3 response to an `UploadError` (retryable for transient failures)."""
    code, message = parse_s3_error(body)
    retryable = status in _RETRYABLE_STATUSES or (status == 400 and code in _RETRYABLE_400_CODES)
    detail = message or body[:200].decode("utf-8", "replace").strip() or "no details"
    label = f"HTTP {status} {code}" if code else f"HTTP {status}"
    return UploadError(
        f"storage upload of {file_name!r} failed: {label}: {detail}",
        file_name=file_name,
        s3_code=code,
        status_code=status,
        is_retryable=retryable,
        retry_after=parse_retry_after(retry_after),
    )


@attrs.frozen(kw_only=True)
class S3Timeouts:
    """Timeouts of one S3 post. Streamed bodies get no read timeout: S3 answers only after the last byte.

    Attributes:
        connect_s: the longest wait for a new connection.
        read_s: the longest wait for the answer to a body sent whole. From Python 3.11 on it is counted
            from the post's start, on top of `connect_s`, and enforced to within `read_s / 16` (at most
            1 s) by `AnswerDeadlines`; on Python 3.10 it is aiohttp's `sock_read` timeout.
    """

    connect_s: float = 30.0
    read_s: float = 120.0

    def for_body(self, *, streamed: bool) -> aiohttp.ClientTimeout:
        """Return the aiohttp timeout for a bytes body or a streamed one."""
        if streamed or AnswerDeadlines.available:
            return aiohttp.ClientTimeout(total=None, sock_connect=self.connect_s)
        return aiohttp.ClientTimeout(total=None, sock_connect=self.connect_s, sock_read=self.read_s)


_Tasks = set["asyncio.Task[Any]"]


class AnswerDeadlines:
    """Ends posts still unanswered `limit_s` after they started, with one loop timer per time slot.

    aiohttp's `sock_read` timeout schedules and cancels two loop timers per request: at thousands of
    small posts per second that is a twentieth of the client's CPU. Here the posts that start within the
    same slot (`limit_s / 16`, at most 1 s) of loop time share one timer, which cancels the tasks of those
    still waiting `limit_s` after the slot ends; a post turns that cancellation into a retryable
    `UploadError` (`timed_out`), as `asyncio.timeout` does. A post's task is in its slot's set exactly
    while it waits for the post, so the timer never cancels anything else.

    Needs `Task.uncancel` (Python 3.11): without it `available` is False and posts use `sock_read`.
    """

    available = hasattr(asyncio.Task, "uncancel")

    def __init__(self, limit_s: float) -> None:
        self.limit_s = limit_s
        self._slot_s = min(1.0, limit_s / 16) or 1.0
        self._slot = -1.0
        self._waiting: _Tasks = set()
        self._expired: _Tasks = set()

    def enter(self, task: asyncio.Task[Any]) -> _Tasks:
        """Start the clock for `task`'s post; return the set to discard it from once the post is done."""
        loop = task.get_loop()
        slot = loop.time() // self._slot_s
        if slot != self._slot:
            self._slot = slot
            self._waiting = set()
            loop.call_at((slot + 1) * self._slot_s + self.limit_s, self._expire, self._waiting)
        self._waiting.add(task)
        return self._waiting

    def _expire(self, waiting: _Tasks) -> None:
        for task in waiting:
            self._expired.add(task)
            task.cancel()
        waiting.clear()

    def timed_out(self, task: asyncio.Task[Any]) -> bool:
        """Whether the `CancelledError` `task` got came from its deadline alone (then it is taken back)."""
        if task not in self._expired:
            return False
        self._expired.discard(task)
        uncancel: Callable[[], int] = task.uncancel  # type: ignore[attr-defined]  # 3.11+, see `available`
        return uncancel() == 0


class ObjectReader(Protocol):
    """An object elsewhere (e.g. in object storage) that the poster reads itself; blocking methods.

    Every method raises `UploadError` (naming the object) when the object cannot be read.
    """

    def get_size(self) -> int:
        """Return the object's size in bytes."""
        ...

    def read(self) -> bytes:
        """Return the whole content."""
        ...

    def open(self, block_size: int) -> IO[bytes]:
        """Open the object for reading in chunks."""
        ...

    def read_error(self, exc: BaseException) -> UploadError:
        """Return the error for a failed read of an opened object."""
        ...


BodyFactory = Callable[[], Awaitable[Any]]
# Makes the stream of a large object's body from (size, prefix, tail, on_progress).
_StreamMaker = Callable[[int, bytes, bytes, Callable[[], object] | None], AsyncGenerator[bytes, None]]


class StorageClient:
    """Posts objects to presigned storage URLs over the shared HTTP session (never with the API's auth).

    The upload pipeline holds one of these instead of an HTTP session, so aiohttp stays inside `_http`.
    """

    def __init__(self, http_session: aiohttp.ClientSession) -> None:
        self._session = http_session

    def presigned_post(
        self,
        *,
        url: str,
        fields: Mapping[str, str],
        retry: Retrier,
        timeouts: S3Timeouts,
        stream_threshold: int = STREAM_THRESHOLD_BYTES,
        on_progress: Callable[[], object] | None = None,
    ) -> PresignedPost:
        """A poster for one upload session's presigned URL and policy fields."""
        return PresignedPost(
            self._session,
            url=url,
            fields=fields,
            retry=retry,
            timeouts=timeouts,
            stream_threshold=stream_threshold,
            on_progress=on_progress,
        )


class PresignedPost:
    """Posts objects to one upload session's presigned S3 URL, with retries.

    Args:
        http_session: the shared aiohttp session (no default auth headers).
        url: the session's `aws_prefixed_request_config.url`.
        fields: the session's policy fields, in the server's order.
        retry: retries each post; every attempt is idempotent (same key, same body).
        timeouts: connect/read timeouts of one post.
        stream_threshold: files larger than this many bytes are streamed from disk.
        on_progress: called for each chunk of a streamed body that was sent (a long post is alive).
    """

    def __init__(
        self,
        http_session: aiohttp.ClientSession,
        *,
        url: str,
        fields: Mapping[str, str],
        retry: Retrier,
        timeouts: S3Timeouts = S3Timeouts(),
        stream_threshold: int = STREAM_THRESHOLD_BYTES,
        on_progress: Callable[[], object] | None = None,
    ) -> None:
        self._session = http_session
        self._url = url
        self._retry = retry
        self._template = MultipartTemplate.build(fields)
        self._stream_threshold = stream_threshold
        self._bytes_timeout = timeouts.for_body(streamed=False)
        self._stream_timeout = timeouts.for_body(streamed=True)
        # Bodies sent whole wait for their answer under these deadlines (aiohttp's `sock_read` before 3.11).
        self._deadlines = (
            AnswerDeadlines(timeouts.connect_s + timeouts.read_s) if AnswerDeadlines.available else None
        )
        self._on_progress = on_progress
        # Built once per session, not per post: a bytes body needs no Content-Length of ours (aiohttp
        # sets it), and the storage URL's proxy choice does not change within a session.
        self._bytes_request = request_args(url, {"Content-Type": self._template.content_type})

    async def upload(self, name: str, source: bytes | str | Path | LocalPath | ObjectReader) -> None:
        """Upload one object named `name` from bytes, text (UTF-8), a file on disk or an object reader.

        Raises:
            UploadError: the object could not be uploaded (after retries) or the source could not be read.
        """
        # Few coroutine levels on the way to aiohttp: each one is re-entered every time a post resumes.
        if isinstance(source, (LocalPath, Path)):
            try:
                size, content = _read_if_tiny(source)
                if content is None and size <= self._stream_threshold:
                    content = await anyio.to_thread.run_sync(Path(source).read_bytes)
            except OSError as exc:
                raise _read_error(name, source, exc) from exc
            if content is None:
                await self._upload_stream(name, size, partial(_stream_file, name, source))
                return
        elif isinstance(source, (bytes, str)):
            content = _as_bytes(source)
        else:
            await self._upload_reader(name, source)
            return
        body = self._template.body(name, content)
        await self._retry.call(
            partial(self._attempt, name, body, len(body), self._bytes_timeout),
            idempotent=True,
            describe=f"storage upload of {name!r}",
        )

    async def _upload_reader(self, name: str, reader: ObjectReader) -> None:
        # Every read blocks (fsspec's sync API), so each runs in a worker thread; one object in flight
        # holds at most one chunk, so memory is bounded by concurrency, not by object size or count.
        size = await anyio.to_thread.run_sync(reader.get_size)
        if size <= self._stream_threshold:
            content = await anyio.to_thread.run_sync(reader.read)
            body = self._template.body(name, content)
            await self._retry.call(
                partial(self._attempt, name, body, len(body), self._bytes_timeout),
                idempotent=True,
                describe=f"storage upload of {name!r}",
            )
            return
        await self._upload_stream(name, size, partial(_stream_reader, reader))

    async def _upload_stream(self, name: str, size: int, stream: _StreamMaker) -> None:
        """Post a large object as a stream with an exact Content-Length, a fresh stream per attempt."""
        prefix = self._template.prefix(name)
        tail = self._template.tail

        async def make_stream() -> AsyncGenerator[bytes, None]:
            return stream(size, prefix, tail, self._on_progress)

        await self._retry.call(
            partial(self._attempt, name, make_stream, len(prefix) + size + len(tail), self._stream_timeout),
            idempotent=True,
            describe=f"storage upload of {name!r}",
        )

    async def _attempt(
        self, name: str, body: bytes | BodyFactory, length: int, client_timeout: aiohttp.ClientTimeout
    ) -> None:
        """Post once; an S3 region redirect is followed once (to the given location, no further)."""
        url = self._url
        redirected = False
        while True:
            # A bytes body is posted as it is; a factory makes a fresh stream per post.
            data = body if isinstance(body, bytes) else await body()
            if isinstance(data, bytes) and url is self._url:
                request = self._bytes_request
            else:  # a streamed body (S3 takes no chunked upload) or a redirect's URL
                headers = {"Content-Type": self._template.content_type, "Content-Length": str(length)}
                request = request_args(url, headers)  # the storage host's own proxy choice
            deadlines = self._deadlines if isinstance(data, bytes) else None
            task = waiting = None
            if deadlines is not None:
                task = asyncio.current_task()
                assert task is not None
                waiting = deadlines.enter(task)
            try:
                async with self._session.post(
                    url, data=data, allow_redirects=False, timeout=client_timeout, **request
                ) as response:
                    status = response.status
                    if 200 <= status < 300:
                        return
                    location = response.headers.get("Location") if status in _REDIRECT_STATUSES else None
                    if location is None:
                        error_body = await response.content.read(_MAX_ERROR_BODY)
                        raise s3_upload_error(
                            name, status, error_body, retry_after=response.headers.get("Retry-After")
                        )
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                if isinstance(exc.__cause__, UploadError):
                    raise exc.__cause__ from None  # the body could not be read: aiohttp wrapped our error
                raise _transport_error(name, exc) from sanitized(exc)  # aiohttp's frames hold the request
            except asyncio.CancelledError:
                if deadlines is None or task is None or not deadlines.timed_out(task):
                    raise
                # No answer in time; the object may be stored (a lost answer), so this is retried.
                raise UploadError(
                    f"storage upload of {name!r} failed: no answer within {deadlines.limit_s:g} s",
                    file_name=name,
                    is_retryable=True,
                ) from None
            finally:
                if waiting is not None:
                    waiting.discard(task)
                if not isinstance(data, bytes) and isinstance(data, AsyncGenerator):  # bytes: skip the ABC
                    # Release the file now; "already running" means aiohttp's writer still owns it and
                    # finalises it itself.
                    with contextlib.suppress(RuntimeError):
                        await data.aclose()
            if redirected:
                raise UploadError(
                    f"storage upload of {name!r} failed: redirected more than once", file_name=name
                )
            url, redirected = location, True


def _as_bytes(content: bytes | str) -> bytes:
    return content.encode() if isinstance(content, str) else content


def _read_if_tiny(path: Path | LocalPath) -> tuple[int, bytes | None]:
    """Return the file's size and, if it is tiny, its content (read inline: cheaper than a thread hop)."""
    return read_file(path, INLINE_READ_BYTES)


def _transport_error(name: str, exc: aiohttp.ClientError | asyncio.TimeoutError) -> UploadError:
    """The error of a post that got no (complete) answer; raise it `from sanitized(exc)`."""
    # A broken connection or a truncated response says nothing about the request: post again.
    transient = isinstance(
        exc, (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError, asyncio.TimeoutError)
    )
    return UploadError(
        f"storage upload of {name!r} failed: {_describe(exc)}", file_name=name, is_retryable=transient
    )


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _read_error(name: str, path: Path | LocalPath, exc: OSError) -> UploadError:
    return UploadError(
        f"cannot read {os.fspath(path)!r} for {name!r}: {exc.strerror or exc}",
        file_name=name,
        is_retryable=False,
    )


async def _stream_file(
    name: str,
    path: Path | LocalPath,
    size: int,
    prefix: bytes,
    tail: bytes,
    on_progress: Callable[[], object] | None,
) -> AsyncGenerator[bytes, None]:
    """Yield the body of a large object: prefix, exactly `size` bytes of the file, tail."""
    yield prefix
    try:
        async with await anyio.open_file(path, "rb") as file:
            remaining = size
            while remaining > 0:
                chunk = await file.read(min(CHUNK_BYTES, remaining))
                if not chunk:
                    raise OSError(f"file shrank during upload ({remaining} bytes missing)")
                remaining -= len(chunk)
                yield chunk
                if on_progress is not None:  # the previous chunk was taken: the post is moving
                    on_progress()
    except OSError as exc:
        raise _read_error(name, path, exc) from exc
    yield tail


async def _stream_reader(
    reader: ObjectReader, size: int, prefix: bytes, tail: bytes, on_progress: Callable[[], object] | None
) -> AsyncGenerator[bytes, None]:
    """Yield the body of a large object read from elsewhere: prefix, exactly `size` bytes, tail."""
    yield prefix
    handle = await anyio.to_thread.run_sync(reader.open, CHUNK_BYTES)
    try:
        remaining = size
        while remaining > 0:
            try:
                chunk = await anyio.to_thread.run_sync(handle.read, min(CHUNK_BYTES, remaining))
            except Exception as exc:  # a backend's own errors (botocore, gcsfs, ...) as well as OSError
                raise reader.read_error(exc) from exc
            if not chunk:
                raise reader.read_error(OSError(f"object shrank during upload ({remaining} bytes missing)"))
            remaining -= len(chunk)
            yield chunk
            if on_progress is not None:
                on_progress()
    finally:
        with contextlib.suppress(Exception):
            await anyio.to_thread.run_sync(handle.close)
    yield tail
