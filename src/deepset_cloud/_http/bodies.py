"""Reading response bodies with a bound, so a hostile or broken server cannot exhaust memory or disk.

aiohttp inflates `Content-Encoding: gzip/deflate/br` bodies as they are read, in bounded steps; the
bounds here count the inflated bytes, so a gzip bomb (a few KiB on the wire, GiBs inflated) is cut off
as early as a plain oversized body.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from deepset_cloud.errors import ResponseValidationError

if TYPE_CHECKING:
    import aiohttp

__all__ = ["MAX_BODY_BYTES", "MAX_ERROR_BODY_BYTES", "read_capped", "read_prefix"]

MAX_BODY_BYTES = 32 * 1024 * 1024
"""The largest JSON body accepted (a page of 100 files with large metadata is a few MiB)."""
MAX_ERROR_BODY_BYTES = 64 * 1024
"""How much of an error body is read for its message; the rest is never read."""
_CHUNK = 256 * 1024


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


async def read_capped(response: aiohttp.ClientResponse, limit: int, *, what: str) -> bytes:
    """Read the whole (inflated) body, or raise once it grows past `limit` bytes.

    Raises:
        ResponseValidationError: the body is larger than `limit` (not retried: it would be again).
    """
    declared = response.content_length
    encoded = response.headers.get("Content-Encoding", "identity").lower() not in ("", "identity")
    if declared is not None and declared > limit and not encoded:
        raise _too_large(what, limit)
    body = bytearray()
    async for chunk in response.content.iter_chunked(_CHUNK):
        body += chunk
        if len(body) > limit:
            raise _too_large(what, limit)
    return bytes(body)


def _too_large(what: str, limit: int) -> ResponseValidationError:
    return ResponseValidationError(
        f"{what}: the response body is larger than {_mib(limit)}, more than the API ever sends; "
        "the server or a proxy in between answered something unexpected."
    )


async def read_prefix(response: aiohttp.ClientResponse, limit: int) -> bytes:
    """Read at most `limit` bytes of the (inflated) body; the rest is left unread."""
    body = bytearray()
    while len(body) < limit:
        chunk = await response.content.read(limit - len(body))
        if not chunk:
            break
        body += chunk
    return bytes(body)
