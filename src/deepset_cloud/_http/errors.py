"""Mapping of HTTP-layer failures to SDK exceptions, with messages that say what to do next.

Connection problems (aiohttp, asyncio) become `TransportError`s; non-2xx answers become the `APIError`
subclass for their status, with the server's messages (`{"errors": [...]}`, `{"detail": ...}`, or the
visible text of an HTML/plain body, truncated) and a hint. No message is built from request headers, and
the aiohttp error kept as the cause has the Authorization header redacted, so neither shows the API key.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from email.utils import parsedate_to_datetime

import aiohttp
from multidict import CIMultiDict, CIMultiDictProxy

from deepset_cloud.errors import (
    APIError,
    ConnectError,
    DeepsetCloudError,
    RequestTimeout,
    TransportError,
    api_error_class,
)

__all__ = ["build_api_error", "map_transport_errors", "parse_retry_after"]

MAX_BODY_IN_ERROR = 500


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Parse a `Retry-After` header (delay in seconds or an HTTP date) into seconds from now."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if seconds != seconds or seconds == float("inf"):  # NaN or infinity
        return None
    return max(0.0, seconds)


@asynccontextmanager
async def map_transport_errors(method: str, url: str) -> AsyncIterator[None]:
    """Turn aiohttp/asyncio connection errors raised inside the block into `TransportError`s.

    Our error is raised from the original one with every traceback of its chain removed: aiohttp's frames
    hold the request headers (the bearer token), and tools that print a traceback's locals (`pytest -l`,
    Sentry) would show them. Other `OSError`s (a local file that cannot be read or written) pass through
    unchanged: they are not network problems and retrying them would not help.
    """
    try:
        yield
    except DeepsetCloudError:
        raise
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        raise _transport_error(exc, method, url) from sanitized(exc)


def _transport_error(exc: BaseException, method: str, url: str) -> TransportError:
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return ConnectError(f"{method} {url}: timed out connecting to the server", method=method, url=url)
    if isinstance(exc, aiohttp.ClientConnectorError):
        return ConnectError(
            f"{method} {url}: cannot connect ({exc.os_error.strerror or exc.os_error}); "
            "check API_URL and your network",
            method=method,
            url=url,
        )
    if isinstance(exc, (aiohttp.ServerTimeoutError, asyncio.TimeoutError)):
        return RequestTimeout(f"{method} {url}: no response in time", method=method, url=url)
    detail = str(exc) or type(exc).__name__
    return TransportError(f"{method} {url}: connection failed ({detail})", method=method, url=url)


def sanitized(exc: BaseException) -> BaseException:
    """Strip `exc` and its whole cause/context chain of tracebacks and request credentials; return it."""
    seen: set[int] = set()
    pending = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = None  # the frames' locals hold the request headers
        _redact_request_headers(current)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return exc


def _redact_request_headers(exc: BaseException) -> None:
    # A `ClientResponseError` (e.g. for a malformed answer) keeps the request's headers, bearer token
    # included, and its repr shows them; a connector error keeps the proxy's credentials.
    if isinstance(exc, aiohttp.ClientResponseError):
        headers = exc.request_info.headers
        if "Authorization" in headers or "Proxy-Authorization" in headers:
            redacted = CIMultiDict(headers)
            for name in ("Authorization", "Proxy-Authorization"):
                if name in redacted:
                    redacted[name] = "<redacted>"
            exc.request_info = exc.request_info._replace(headers=CIMultiDictProxy(redacted))
    key = getattr(exc, "_conn_key", None)
    if key is not None and getattr(key, "proxy_auth", None) is not None and hasattr(key, "_replace"):
        exc._conn_key = key._replace(proxy_auth=None)  # type: ignore[attr-defined]


def _error_messages(body: bytes, content_type: str) -> list[str]:
    """Extract human-readable messages from an error body: `{"errors": [...]}`, `{"detail": ...}`, text."""
    text = body.decode("utf-8", errors="replace").strip()
    if not text:
        return []
    try:
        data = jsonlib.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict):
        messages: list[str] = []
        for key in ("errors", "detail", "message", "error"):
            value = data.get(key)
            items = value if isinstance(value, list) else [value] if value is not None else []
            for item in items:
                if isinstance(item, dict):
                    msg = item.get("msg") or item.get("message") or jsonlib.dumps(item)
                    loc = item.get("loc")
                    where = ".".join(str(part) for part in loc) if isinstance(loc, list) else ""
                    messages.append(f"{where}: {msg}" if where else str(msg))
                else:
                    messages.append(str(item))
        if messages:
            return messages
    if "html" in content_type or text.lstrip().startswith("<"):
        # A proxy's HTML page: keep the visible text only.
        text = " ".join(re.sub(r"<[^>]*>", " ", text).split())
    return [text[:MAX_BODY_IN_ERROR] + ("..." if len(text) > MAX_BODY_IN_ERROR else "")]


def _from_the_api(body: bytes, content_type: str) -> bool:
    """Whether an error answer looks like the API's own: a JSON object (a proxy or web server sends HTML/text)."""
    if "json" not in content_type.lower():
        return False
    try:
        return isinstance(jsonlib.loads(body), dict)
    except ValueError:
        return False


def _hint(status: int, retry_after: float | None, *, from_api: bool = True) -> str:
    if status == 404 and not from_api:
        return (
            "The answer did not come from the deepset Cloud API: check API_URL "
            "(api_url=... or the API_URL setting; it should end with /api/v1)."
        )
    if status == 401:
        return "Check your API key (api_key=... or the API_KEY setting): it is missing, wrong or expired."
    if status == 407:
        return "The HTTP proxy refused the credentials in HTTP_PROXY/HTTPS_PROXY (http://user:password@host:port)."
    if status == 403:
        return "The API key is valid but may not access this workspace or resource."
    if status == 404:
        return "Check the workspace name and the file or upload session id."
    if status == 429:
        wait = f" in {retry_after:g} s" if retry_after is not None else " later"
        return f"Too many requests: retry{wait}."
    if status >= 500:
        return "The service failed; this is usually temporary, retry later."
    if 300 <= status < 400:
        return "The API answered with a redirect; check API_URL (it should end with /api/v1)."
    return ""


def build_api_error(
    *, status: int, reason: str, method: str, url: str, body: bytes, headers: Mapping[str, str]
) -> APIError:
    """Build the `APIError` subclass for a non-2xx response, with a message that says what to do next."""
    content_type = headers.get("Content-Type", "")
    messages = _error_messages(body, content_type)
    retry_after = parse_retry_after(headers.get("Retry-After"))
    summary = f"{method} {url} failed with {status} {reason}".rstrip()
    if messages:
        summary += ": " + "; ".join(messages)
    hint = _hint(status, retry_after, from_api=_from_the_api(body, content_type))
    # The server's own message may already end a sentence; never print "..".
    message = f"{summary.rstrip('.')}. {hint}" if hint else summary
    return api_error_class(status)(
        message,
        status_code=status,
        method=method,
        url=url,
        body=body[:MAX_BODY_IN_ERROR].decode("utf-8", errors="replace"),
        messages=messages,
        request_id=headers.get("X-Request-Id"),
        retry_after=retry_after if status == 429 or status >= 500 else None,
        is_retryable=True if status == 408 else None,
    )
