"""A small real HTTP forward proxy on 127.0.0.1 for the proxy tests.

It speaks the two forms a client uses with a forward proxy: absolute-form requests
(`GET http://host:port/path HTTP/1.1`, for plain-HTTP targets) and `CONNECT host:port` tunnels (for
HTTPS targets). Every request is recorded with its target and headers, so tests can count what went
through it per host and check that no API key reached it for a host other than the API.
Optionally it demands proxy credentials (`407` without the right `Proxy-Authorization`).

One request per client connection: the proxy asks the target to close after its answer and tells the
client so, which keeps it from having to parse bodies while still counting every request.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import urllib.parse
from collections import Counter
from types import TracebackType

import attrs

_HOP_BY_HOP = {"connection", "proxy-connection", "proxy-authorization", "keep-alive"}
_MAX_HEAD = 64 * 1024


@attrs.frozen
class ProxiedRequest:
    """One request the proxy received."""

    method: str
    host: str  # "host:port" of the target
    path: str  # the target path ("" for CONNECT)
    headers: dict[str, str]  # header names lower-cased

    @property
    def authorization(self) -> str | None:
        return self.headers.get("authorization")


class ForwardProxy:
    """An asyncio forward proxy on a free loopback port; use as `async with ForwardProxy() as proxy`."""

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        self.credentials = credentials
        self.requests: list[ProxiedRequest] = []
        self.rejected = 0  # requests answered 407
        self.port = 0
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        """The proxy's URL, with the credentials in it when it demands some."""
        userinfo = ""
        if self.credentials is not None:
            user, password = (urllib.parse.quote(part, safe="") for part in self.credentials)
            userinfo = f"{user}:{password}@"
        return f"http://{userinfo}127.0.0.1:{self.port}"

    def per_host(self) -> Counter[str]:
        """How many requests went to each target `host:port`."""
        return Counter(request.host for request in self.requests)

    async def __aenter__(self) -> ForwardProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._server is not None
        self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    def _authorized(self, headers: dict[str, str]) -> bool:
        if self.credentials is None:
            return True
        expected = base64.b64encode(":".join(self.credentials).encode()).decode()
        return headers.get("proxy-authorization", "") == f"Basic {expected}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        if len(head) > _MAX_HEAD:
            return
        request_line, *header_lines = head.decode("latin-1").split("\r\n")
        method, target, version = request_line.split(" ")
        headers = {}
        for line in header_lines:
            if line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
        if not self._authorized(headers):
            self.rejected += 1
            writer.write(
                b'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\n'
                b"Content-Length: 0\r\nConnection: close\r\n\r\n"
            )
            await writer.drain()
            return
        if method == "CONNECT":
            self.requests.append(ProxiedRequest(method, target, "", headers))
            host, _, port_text = target.rpartition(":")
            upstream_reader, upstream_writer = await asyncio.open_connection(host.strip("[]"), int(port_text))
            writer.write(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await writer.drain()
            await _pipe_both(reader, writer, upstream_reader, upstream_writer)
            return
        url = urllib.parse.urlsplit(target)
        if url.scheme != "http" or not url.hostname:
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            return
        port = url.port or 80
        path = urllib.parse.urlunsplit(("", "", url.path or "/", url.query, ""))
        self.requests.append(ProxiedRequest(method, f"{url.hostname}:{port}", path, headers))
        upstream_reader, upstream_writer = await asyncio.open_connection(url.hostname, port)
        lines = [f"{method} {path} {version}"]
        lines += [f"{name}: {value}" for name, value in headers.items() if name not in _HOP_BY_HOP]
        lines.append("Connection: close")
        upstream_writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        # The body (any framing) follows as it comes; the answer ends when the target closes.
        forward_body = asyncio.ensure_future(_pipe(reader, upstream_writer))
        try:
            response_head = await upstream_reader.readuntil(b"\r\n\r\n")
            status_line, *response_lines = response_head.decode("latin-1").split("\r\n")
            kept = [line for line in response_lines if line and not line.lower().startswith("connection:")]
            writer.write(
                ("\r\n".join([status_line, *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")
            )
            await _pipe(upstream_reader, writer)
        finally:
            forward_body.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await forward_body
            upstream_writer.close()


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while chunk := await reader.read(65536):
            writer.write(chunk)
            await writer.drain()


async def _pipe_both(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    upstream_reader: asyncio.StreamReader,
    upstream_writer: asyncio.StreamWriter,
) -> None:
    try:
        to_target = asyncio.ensure_future(_pipe(reader, upstream_writer))
        to_client = asyncio.ensure_future(_pipe(upstream_reader, writer))
        await asyncio.wait([to_target, to_client], return_when=asyncio.FIRST_COMPLETED)
        for task in (to_target, to_client):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    finally:
        upstream_writer.close()
