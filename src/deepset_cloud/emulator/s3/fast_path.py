"""The connection protocol of the emulator: small storage posts answered straight off the socket.

At thousands of storage posts per second, aiohttp's request machinery (parser, request and response
objects, a task per request) costs the emulator about as much CPU as the endpoint's own work. Every
connection therefore starts on `FastPathProtocol`, which reads the request head itself and serves only the
plainest case: a `POST` to exactly the bucket URL, HTTP/1.1, a `Content-Length` of at most 128 KiB, no
transfer or content coding, no `Expect`, no active faults, and a form that `parse_buffered` takes and the
policy and session accept. The answer is written once the object is committed, as aiohttp would write it.

Anything else, at any point before a byte of it has been acted on, hands the connection to aiohttp with
the bytes read so far: the application then answers exactly as it always did, refusals included (a
refused post stores nothing, so aiohttp's second look gives the same error). A connection never returns
from aiohttp, and each answer on it keeps the order of its request.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time
from email.utils import formatdate

import attrs
from aiohttp import web
from aiohttp.http import SERVER_SOFTWARE

from deepset_cloud.emulator.s3.endpoint import MAX_FIELD_BYTES, Accepted, accept_object, post_response_xml
from deepset_cloud.emulator.s3.multipart import MAX_PARTS
from deepset_cloud.emulator.s3.multipart_buffered import parse_buffered
from deepset_cloud.emulator.s3.multipart_headers import MultipartError, boundary_from_content_type
from deepset_cloud.emulator.s3.policy import S3Error
from deepset_cloud.emulator.state import S3_PREFIX, EmulatorState
from deepset_cloud.emulator.storage.blobs import INLINE_MAX_BYTES

__all__ = ["FastPathProtocol"]

_METHOD_AND_BUCKET = b"POST " + S3_PREFIX.rstrip("/").encode()
_REQUEST_LINES = frozenset(
    {b"POST " + S3_PREFIX.encode() + b" HTTP/1.1", b"POST " + S3_PREFIX.rstrip("/").encode() + b" HTTP/1.1"}
)
_ODD_HEAD_BYTES = re.compile(rb"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)|(?<!\r)\n")
_MAX_HEAD_BYTES = 16 * 1024
_MAX_BODY_BYTES = 128 * 1024
_MAX_BUFFERED_BYTES = 1 << 20  # read no further while this much waits (a client pipelining far ahead)
# Headers that change how the body is framed or must be answered first: aiohttp handles those requests.
_HANDED_OVER_HEADERS = frozenset({b"transfer-encoding", b"expect", b"content-encoding", b"upgrade"})
_STATUS_LINES = {
    200: b"HTTP/1.1 200 OK\r\n",
    201: b"HTTP/1.1 201 Created\r\n",
    204: b"HTTP/1.1 204 No Content\r\n",
}
_COMMIT_FAILED = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain; charset=utf-8\r\n"
    b"Content-Length: 21\r\nConnection: close\r\n\r\nInternal Server Error"
)


class _HandOver(Exception):
    """The request is not one the fast path serves: aiohttp takes the connection."""


@attrs.frozen
class _Head:
    """The parts of a request head that the fast path needs."""

    size: int
    path: str
    content_length: int
    content_type: str
    host: str
    close: bool
    authorization: bool


def _parse_head(buffer: bytearray) -> _Head | None:
    """The head at the start of `buffer` (None: not complete yet).

    Raises:
        _HandOver: The request is not a plain storage post.
    """
    if not buffer.startswith(_METHOD_AND_BUCKET):
        if not _METHOD_AND_BUCKET.startswith(bytes(buffer[: len(_METHOD_AND_BUCKET)])):
            raise _HandOver
        return None
    end = buffer.find(b"\r\n\r\n", 0, _MAX_HEAD_BYTES)
    if end < 0:
        if len(buffer) >= _MAX_HEAD_BYTES or buffer.count(b"\n") != buffer.count(b"\r\n"):
            raise _HandOver  # a huge head, or lines ended by a bare LF: aiohttp's parser decides
        return None
    head = bytes(buffer[:end])
    if _ODD_HEAD_BYTES.search(head):
        raise _HandOver  # control characters, bare CR or LF: aiohttp's parser refuses or decides
    lines = head.split(b"\r\n")
    if lines[0] not in _REQUEST_LINES:
        raise _HandOver
    headers: dict[bytes, bytes] = {}
    for line in lines[1:]:
        name, colon, value = line.partition(b":")
        if not colon or name != name.strip() or not name:
            raise _HandOver  # folded or malformed lines
        name = name.lower()
        if name in headers or name in _HANDED_OVER_HEADERS:
            raise _HandOver  # a repeated header is ambiguous; the others change the framing
        headers[name] = value.strip(b" \t")
    length = headers.get(b"content-length", b"")
    connection = headers.get(b"connection", b"keep-alive").lower()
    host = headers.get(b"host", b"")
    if not length.isdigit() or int(length) > _MAX_BODY_BYTES or not host:
        raise _HandOver
    if connection not in (b"keep-alive", b"close"):
        raise _HandOver
    try:
        return _Head(
            end + 4,
            lines[0][5:-9].decode("ascii"),  # between "POST " and " HTTP/1.1"
            int(length),
            headers.get(b"content-type", b"").decode("ascii"),
            host.decode("ascii"),
            connection == b"close",
            b"authorization" in headers,
        )
    except UnicodeDecodeError:
        raise _HandOver from None


class _DateHeader:
    """The `Date` header line, formatted once a second (as aiohttp does)."""

    def __init__(self) -> None:
        self._second = -1
        self._line = b""

    def line(self) -> bytes:
        now = int(time.time())
        if now != self._second:
            self._second = now
            self._line = b"Date: " + formatdate(now, usegmt=True).encode() + b"\r\n"
        return self._line


_DATE = _DateHeader()
_SERVER_LINE = b"Server: " + SERVER_SOFTWARE.encode() + b"\r\n"


class FastPathProtocol(asyncio.Protocol):
    """One client connection: plain storage posts served here, everything else handed to `server`.

    Args:
        state: The emulator's state.
        server: aiohttp's low-level server; its `request_handler` answers what this protocol hands over.
        connections: The set of live fast-path connections (the emulator closes them when it stops).
    """

    def __init__(self, state: EmulatorState, server: web.Server, connections: set[FastPathProtocol]) -> None:
        self._state = state
        self._server = server
        self._connections = connections
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._busy = False  # an accepted post waits for its commit; later requests wait in the buffer
        self._eof = False
        self._paused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._connections.add(self)
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # answers are tiny: send at once

    def connection_lost(self, exc: Exception | None) -> None:
        self._connections.discard(self)
        self._transport = None

    def data_received(self, data: bytes) -> None:
        self._buffer += data
        if not self._busy:
            self._serve()
        if len(self._buffer) > _MAX_BUFFERED_BYTES and self._transport is not None and not self._paused:
            self._paused = True
            self._transport.pause_reading()

    def eof_received(self) -> bool:
        self._eof = True
        if self._busy:
            return True  # keep the socket open to write the pending answer
        if self._buffer:
            self._hand_over()  # aiohttp answers (or rejects) what was left, then sees the end
            return True
        return False

    def close(self) -> None:
        """Close the connection now (the emulator is stopping)."""
        if self._transport is not None:
            self._transport.close()

    def _serve(self) -> None:
        """Answer every complete request in the buffer, until one must wait for its commit."""
        while self._buffer and self._transport is not None and not self._busy:
            try:
                head = _parse_head(self._buffer)
                if head is None:
                    return
                if len(self._buffer) < head.size + head.content_length:
                    return
                self._accept(head)
            except _HandOver:
                self._hand_over()
                return
        if self._paused and self._transport is not None and len(self._buffer) <= _MAX_BUFFERED_BYTES:
            self._paused = False
            self._transport.resume_reading()

    def _accept(self, head: _Head) -> None:
        """Store the post at the start of the buffer and answer it once it is committed.

        Raises:
            _HandOver: The post needs aiohttp (an unusual form, faults, or a refusal to answer).
        """
        state = self._state
        if state.faults.has_specs:
            raise _HandOver
        body = bytes(self._buffer[head.size : head.size + head.content_length])
        try:
            boundary = boundary_from_content_type(head.content_type)
        except MultipartError:
            raise _HandOver from None
        form = parse_buffered(
            body,
            boundary,
            max_field_bytes=MAX_FIELD_BYTES,
            max_parts=MAX_PARTS,
            memory_file_bytes=min(INLINE_MAX_BYTES, state.config.max_object_bytes),
        )
        if form is None or form.fields_after_files:
            raise _HandOver
        try:
            accepted = accept_object(state, form.fields, form.files, "")  # parts in memory need no shard
        except S3Error:
            raise _HandOver from None  # nothing was stored: aiohttp's look at it gives the same answer
        del self._buffer[: head.size + head.content_length]
        stats = state.stats
        stats.requests["s3_post"] += 1
        if head.authorization:  # a client leaking its API key to "S3" must be visible
            stats.s3_requests_with_authorization += 1
        waiter = state.store.commit_waiter()
        if waiter is None:
            self._answer(head, accepted)
            return
        self._busy = True
        waiter.add_done_callback(lambda done: self._committed(done, head, accepted))

    def _committed(self, waiter: asyncio.Future[None], head: _Head, accepted: Accepted) -> None:
        self._busy = False
        if self._transport is None:
            return
        if waiter.cancelled() or waiter.exception() is not None:
            self._transport.write(_COMMIT_FAILED)  # not acknowledged: the client posts it again
            self._transport.close()
            return
        self._answer(head, accepted)
        if not self._transport.is_closing():  # (closed after answering a `Connection: close`)
            if self._eof and not self._buffer:
                self._transport.close()
            elif self._eof:
                self._hand_over()
            else:
                self._serve()

    def _answer(self, head: _Head, accepted: Accepted) -> None:
        assert self._transport is not None
        lines = [_STATUS_LINES[accepted.status], _DATE.line(), _SERVER_LINE]  # aiohttp's order
        if accepted.status == 201:
            body = post_response_xml(f"http://{head.host}{head.path}{accepted.key}", accepted.key).encode()
            lines.append(b"Content-Type: application/xml; charset=utf-8\r\n")
            lines.append(b"Content-Length: %d\r\n" % len(body))
        elif accepted.status == 200:
            body = b""
            lines.append(b"Content-Length: 0\r\nContent-Type: application/octet-stream\r\n")
        else:
            body = b""
        if head.close:
            lines.append(b"Connection: close\r\n")
        lines.append(b"\r\n")
        lines.append(body)
        self._transport.write(b"".join(lines))
        if head.close:
            self._transport.close()

    def _hand_over(self) -> None:
        """Give the connection, with every byte read so far, to aiohttp's request handler."""
        transport = self._transport
        if transport is None:
            return
        self._transport = None
        self._connections.discard(self)
        handler = self._server()
        transport.set_protocol(handler)
        handler.connection_made(transport)
        if self._paused:
            self._paused = False
            transport.resume_reading()
        if self._buffer:
            data, self._buffer = bytes(self._buffer), bytearray()
            handler.data_received(data)
        if self._eof:
            handler.eof_received()
