"""The only place that builds deepset Cloud API requests.

One `Transport` owns one aiohttp `ClientSession` (one connection pool), created lazily on the running
loop. The bearer token is added per API request, never as a session default, so the same session can
post to S3 without leaking it. Connection errors become `TransportError`s and non-2xx statuses
`APIError`s (see `_http_errors`); every request goes through the retry policy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json as jsonlib
import logging
import time
import urllib.parse
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import IO, Any

import aiohttp
import anyio
import attrs

# anyio imports its asyncio backend on first use (~35 ms): here, at import, not inside the first call.
with contextlib.suppress(ImportError):  # a future anyio may lay its modules out differently
    import anyio._backends._asyncio

from deepset_cloud._http import loop_cleanup
from deepset_cloud._http.bodies import MAX_BODY_BYTES, MAX_ERROR_BODY_BYTES, read_capped, read_prefix
from deepset_cloud._http.errors import build_api_error, map_transport_errors
from deepset_cloud._http.proxies import request_args
from deepset_cloud._inherited import keep_forever
from deepset_cloud._retry import RetryPolicy
from deepset_cloud._version import __version__
from deepset_cloud.errors import (
    APIError,
    ClientClosedError,
    ResponseValidationError,
)

__all__ = ["FormPart", "Transport", "user_agent"]

logger = logging.getLogger("deepset_cloud")

_CHUNK = 256 * 1024
# `"` and `\` are escaped in multipart filenames the way browsers and httpx do it.
_FILENAME_ESCAPES = {'"': "%22", "\\": "\\\\"} | {chr(c): f"%{c:02X}" for c in range(0x20) if c != 0x1B}


_USER_AGENT = f"deepset-cloud/{__version__}"


def user_agent() -> str:
    """Return the User-Agent this SDK sends: `deepset-cloud/<version>` (a constant: no lookup per pool)."""
    return _USER_AGENT


@attrs.frozen(kw_only=True)
class FormPart:
    """One part of a multipart/form-data body. A `Path` value is streamed from disk, never read whole."""

    name: str
    value: str | bytes | Path = attrs.field(repr=False)
    filename: str | None = None
    content_type: str | None = None


def _escape_filename(name: str) -> str:
    return "".join(_FILENAME_ESCAPES.get(char, char) for char in name)


class Transport:
    """Sends requests to the deepset Cloud API with one pooled aiohttp session.

    Args:
        api_url: the API base URL, e.g. `https://api.cloud.deepset.ai/api/v1` (no trailing slash).
        api_key: the bearer token; never logged, never shown in a repr.
        timeout_s: the longest wait for connecting and for each read of a response.
        retry: the retry policy applied around every request.
        max_connections: the size of the connection pool (API and S3 together).
        max_body_bytes: the largest JSON body accepted, inflated size (see `_http.bodies`).
    """

    def __init__(
        self,
        *,
        api_url: str,
        api_key: str,
        timeout_s: float = 30.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self._api_key = api_key
        self.timeout_s = timeout_s
        self.retry = retry if retry is not None else RetryPolicy()
        self._max_connections = max_connections
        self.max_body_bytes = max_body_bytes
        self._session: aiohttp.ClientSession | None = None
        self._timeouts: tuple[aiohttp.ClientTimeout, aiohttp.ClientTimeout] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False

    def __repr__(self) -> str:
        return f"Transport(api_url={self.api_url!r})"

    # -- session lifecycle ------------------------------------------------------------------------------

    async def http_session(self) -> aiohttp.ClientSession:
        """Return the pooled aiohttp session, creating it on the running loop on first use.

        The session has no default Authorization header, so it may be used for S3 posts.

        Raises:
            ClientClosedError: the transport is closed, or it is in use on another running event loop.
        """
        if self._closed:
            raise ClientClosedError("This client is closed; create a new one.")
        loop = asyncio.get_running_loop()
        session = self._session
        if session is not None and not session.closed and self._loop is loop:
            return session
        if session is not None and not session.closed and self._loop is not None:
            if not self._loop.is_closed() and self._loop.is_running():
                raise ClientClosedError(
                    "This client is in use on another event loop; create one client per event loop "
                    "(the module-level functions do that for you)."
                )
            # The old loop ended without closing us; its sockets cannot be closed from here.
            logger.debug("discarding an HTTP session of an event loop that has ended")
        connector = aiohttp.TCPConnector(
            limit=self._max_connections, limit_per_host=0, enable_cleanup_closed=False
        )
        self._session = aiohttp.ClientSession(
            connector=connector,
            headers={"User-Agent": user_agent()},
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s, sock_read=self.timeout_s),
            raise_for_status=False,
            auto_decompress=True,
        )
        self._timeouts = (  # per request: a JSON body, a form (an upload: no total)
            aiohttp.ClientTimeout(
                total=self.timeout_s * 2, sock_connect=self.timeout_s, sock_read=self.timeout_s
            ),
            aiohttp.ClientTimeout(total=None, sock_connect=self.timeout_s, sock_read=self.timeout_s),
        )
        # aiohttp silently re-sends idempotent requests once when a kept-alive connection drops; the retry
        # policy must be the only place that decides about repeating a request (and counts attempts).
        if hasattr(self._session, "_retry_connection"):
            self._session._retry_connection = False
        self._loop = loop
        loop_cleanup.register(loop, self)
        return self._session

    async def aclose(self) -> None:
        """Close the connection pool. Safe to call twice; the transport cannot be used afterwards."""
        self._closed = True
        session, self._session = self._session, None
        loop, self._loop = self._loop, None
        if loop is not None:
            loop_cleanup.unregister(loop, self)
        if session is not None and not session.closed:
            running = asyncio.get_running_loop()
            if loop is running:
                await session.close()
            elif loop is not None and not loop.is_closed() and loop.is_running():
                # Closing from another loop: ask the owner loop to do it.
                future = asyncio.run_coroutine_threadsafe(session.close(), loop)
                await asyncio.wrap_future(future)

    def forget_inherited(self) -> None:
        """In a forked child: let go of the parent's session without closing it; the next request opens a new one."""
        if self._session is not None:
            keep_forever(self._session)
        self._session = None
        self._loop = None

    async def close_on_loop_end(self) -> None:
        """Close the session because its event loop is ending (the client can be used again on a new loop)."""
        session, self._session = self._session, None
        self._loop = None
        if session is not None and not session.closed:
            await session.close()

    # -- URLs -------------------------------------------------------------------------------------------

    def url(self, *segments: str) -> str:
        """Join `segments` (each URL-quoted, `/` included) onto the API URL."""
        return "/".join([self.api_url, *(urllib.parse.quote(str(segment), safe="") for segment in segments)])

    def workspace_url(self, workspace: str, *segments: str) -> str:
        """Return `{api_url}/workspaces/{workspace}/{segments...}` with every segment URL-quoted."""
        return self.url("workspaces", workspace, *segments)

    def _headers(self, *, json_body: bool) -> dict[str, str]:
        headers = {
            "Authorization": f"Bearer {self._api_key}",
            "Accept": "application/json",
            "X-Client-Source": "deepset-cloud",
        }
        if json_body:
            headers["Content-Type"] = "application/json"
        return headers

    def _request_args(self, url: str, *, json_body: bool) -> dict[str, Any]:
        # No caller keeps the headers in a local: a traceback's frame locals would show the bearer token.
        return request_args(url, self._headers(json_body=json_body))

    # -- requests ---------------------------------------------------------------------------------------

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json: Any = None,
        form: Sequence[FormPart] | None = None,
        idempotent: bool,
        expect_json: bool = True,
        describe: str | None = None,
        done_on_retry: Collection[int] = (),
    ) -> Any:
        """Send one API request (with retries per the policy) and return the decoded JSON body.

        Args:
            method: HTTP method.
            url: full URL (build it with `url` / `workspace_url`).
            params: query parameters.
            json: a JSON body (sent when not None).
            form: a multipart/form-data body, rebuilt for every attempt.
            idempotent: whether a retry after the request may have reached the server is harmless.
            expect_json: parse the body as JSON (else the body is ignored and None is returned).
            describe: what the call does, for logs (defaults to "METHOD url").
            done_on_retry: statuses that mean "already done" when they answer a retry (e.g. 409 when
                closing a session whose first close went through but whose answer was lost); the call
                then returns None.

        Returns:
            The decoded JSON (any JSON value) or None.

        Raises:
            APIError: a non-2xx answer (the subclass for its status).
            TransportError: no response arrived (after retries).
            ResponseValidationError: a 2xx answer whose body is not JSON.
        """

        attempts = 0

        async def attempt() -> Any:
            nonlocal attempts
            attempts += 1
            try:
                return await self._send_once(
                    method, url, params=params, json=json, form=form, expect_json=expect_json
                )
            except APIError as exc:
                if attempts > 1 and exc.status_code in done_on_retry:
                    logger.info("%s: %d on a retry, the first attempt went through", method, exc.status_code)
                    return None
                raise

        return await self.retry.call(attempt, idempotent=idempotent, describe=describe or f"{method} {url}")

    async def _send_once(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, str | int] | None,
        json: Any,
        form: Sequence[FormPart] | None,
        expect_json: bool,
    ) -> Any:
        session = await self.http_session()
        timeouts = self._timeouts
        assert timeouts is not None  # built with the session
        started = time.monotonic()
        opened: list[IO[bytes]] = []
        try:
            async with map_transport_errors(method, url):
                data = None if form is None else self._multipart(form, opened)
                body = None if json is None else jsonlib.dumps(json).encode()
                async with session.request(
                    method,
                    url,
                    params=params,
                    data=body if body is not None else data,
                    allow_redirects=False,
                    **self._request_args(url, json_body=body is not None),
                    timeout=timeouts[form is not None],
                ) as response:
                    if 200 <= response.status < 300:
                        raw = await read_capped(response, self.max_body_bytes, what=f"{method} {url}")
                    else:
                        raw = await read_prefix(response, MAX_ERROR_BODY_BYTES)
                    logger.debug(
                        "%s %s -> %d in %.0f ms",
                        method,
                        url,
                        response.status,
                        (time.monotonic() - started) * 1000,
                    )
                    if not 200 <= response.status < 300:
                        raise build_api_error(
                            status=response.status,
                            reason=response.reason or "",
                            method=method,
                            url=url,
                            body=raw,
                            headers=response.headers,
                        )
        finally:
            for handle in opened:
                handle.close()
        if not expect_json:
            return None
        try:
            return jsonlib.loads(raw)
        except ValueError as exc:
            snippet = raw[:200].decode("utf-8", errors="replace")
            raise ResponseValidationError(
                f"{method} {url}: the response is not valid JSON (starts with {snippet!r}); "
                "the server or a proxy in between answered something unexpected."
            ) from exc

    @staticmethod
    def _multipart(form: Sequence[FormPart], opened: list[IO[bytes]]) -> aiohttp.MultipartWriter:
        writer = aiohttp.MultipartWriter("form-data")
        for part in form:
            disposition = f'form-data; name="{_escape_filename(part.name)}"'
            if part.filename is not None:
                # `filename*` (RFC 7578/5987) carries the exact name for servers that percent-decode the
                # plain `filename` (`pct%20.txt` must not become `pct .txt`); the plain one is for the rest.
                disposition += (
                    f'; filename="{_escape_filename(part.filename)}"'
                    f"; filename*=UTF-8''{urllib.parse.quote(part.filename, safe='')}"
                )
            headers: dict[str, str] = {"Content-Disposition": disposition}
            if part.content_type is not None:
                headers["Content-Type"] = part.content_type
            if isinstance(part.value, Path):
                handle = part.value.open("rb")  # aiohttp reads it in chunks in an executor
                opened.append(handle)
                writer.append(handle, headers)
            else:
                writer.append(part.value, headers)
        return writer

    async def download(
        self, url: str, dest: Path, *, max_bytes: int | None = None, describe: str | None = None
    ) -> int:
        """Stream a GET response body into `dest` (created or truncated), with retries; return its size.

        Args:
            url: what to download.
            dest: the file to write (the caller renames it into place once complete).
            max_bytes: the largest body accepted (inflated size), e.g. the file's listed size.
            describe: what the call does, for logs.

        Raises:
            APIError: a non-2xx answer.
            TransportError: no complete response arrived (after retries).
            ResponseValidationError: the body is larger than `max_bytes` (`dest` then holds a part of it).
        """

        async def attempt() -> int:
            return await self._download_once(url, dest, max_bytes)

        return await self.retry.call(attempt, idempotent=True, describe=describe or f"GET {url}")

    async def _download_once(self, url: str, dest: Path, max_bytes: int | None) -> int:
        session = await self.http_session()
        size = 0
        async with (
            map_transport_errors("GET", url),
            session.get(url, allow_redirects=False, **self._request_args(url, json_body=False)) as response,
        ):
            if not 200 <= response.status < 300:
                raise build_api_error(
                    status=response.status,
                    reason=response.reason or "",
                    method="GET",
                    url=url,
                    body=await read_prefix(response, MAX_ERROR_BODY_BYTES),
                    headers=response.headers,
                )
            # Shielded: a timeout must neither drop a file that a worker thread opened nor skip its close
            # (anyio's thread calls check for cancellation before they start).
            with anyio.CancelScope(shield=True):
                handle = await anyio.open_file(dest, "wb")
            try:
                async for chunk in response.content.iter_chunked(_CHUNK):
                    size += len(chunk)
                    if max_bytes is not None and size > max_bytes:
                        raise ResponseValidationError(
                            f"GET {url}: the download is larger than the listed size of the file "
                            f"({max_bytes} bytes); the server or a proxy in between sent something else."
                        )
                    await handle.write(chunk)
            finally:
                with anyio.CancelScope(shield=True):
                    await handle.aclose()
        return size
