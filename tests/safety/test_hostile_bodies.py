"""A hostile or broken server cannot make the client hold unbounded bodies or keep oversized downloads.

The server is a real aiohttp.web app on loopback; the client runs its real HTTP path. Bodies are capped
after decompression (gzip bombs), a download larger than its listed size fails and leaves nothing behind.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, RetryPolicy
from deepset_cloud._http import bodies
from deepset_cloud.errors import NotFoundError, ResponseValidationError
from tests.fake_server import FILES_PAGE_EMPTY as EMPTY_PAGE, FakeServer

from .scripted_server import gzip_bomb, gzipped

pytestmark = pytest.mark.anyio
MIB = 1024 * 1024
FAST = RetryPolicy(max_tries=3, base_delay_s=0.001, max_delay_s=0.01, max_time_s=30)


class Streamer:
    """Answers with `total` bytes of `chunk`s and counts how many it got to send before the client left."""

    def __init__(self, status: int, chunk: bytes, total_chunks: int) -> None:
        self.status = status
        self.chunk = chunk
        self.total_chunks = total_chunks
        self.sent = 0

    async def __call__(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(status=self.status, headers={"Content-Type": "application/json"})
        await response.prepare(request)
        try:
            for _ in range(self.total_chunks):
                await response.write(self.chunk)
                self.sent += 1
        except (ConnectionError, RuntimeError):  # the client hung up: exactly what it should do
            return response
        await response.write_eof()
        return response


def test_the_default_cap_is_a_sane_size() -> None:
    assert 8 * MIB <= bodies.MAX_BODY_BYTES <= 64 * MIB


async def test_a_huge_json_page_is_refused_without_reading_it_all() -> None:
    # 256 MiB of JSON-looking bytes; the client must give up after its cap (32 MiB by default).
    streamer = Streamer(200, b"[" + b" " * (MIB - 1), 256)
    async with (
        FakeServer(streamer) as server,
        AsyncClient("key", server.api_url, "ws", retry=FAST) as client,
    ):
        with pytest.raises(ResponseValidationError, match="larger than") as caught:
            await client.list_upload_sessions().__anext__()
    assert "MiB" in str(caught.value)
    assert len(server.requests) == 1  # not retried
    assert streamer.sent < 128  # it stopped reading long before the end (socket buffers hold a few MiB)


async def test_a_gzip_bomb_listing_page_is_refused_by_its_decompressed_size() -> None:
    bomb = gzip_bomb(bodies.MAX_BODY_BYTES * 4)  # ~130 KiB on the wire, 128 MiB inflated

    async def listing(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=bomb, headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    async with (
        FakeServer(listing) as server,
        AsyncClient("key", server.api_url, "ws", retry=FAST) as client,
    ):
        with pytest.raises(ResponseValidationError, match="larger than"):
            async for _ in client.list_files():
                pass
    assert len(bomb) < MIB


async def test_a_gzip_compressed_page_within_the_cap_is_read() -> None:
    page = json.dumps(EMPTY_PAGE).encode()

    async def listing(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=gzipped(page), headers={"Content-Encoding": "gzip", "Content-Type": "application/json"}
        )

    async with (
        FakeServer(listing) as server,
        AsyncClient("key", server.api_url, "ws", retry=FAST) as client,
    ):
        assert [page async for page in client.list_files()] == []


async def test_a_huge_error_body_is_cut_to_a_prefix() -> None:
    streamer = Streamer(404, b'{"detail": "' + b"x" * (MIB - 12), 256)
    async with (
        FakeServer(streamer) as server,
        AsyncClient("key", server.api_url, "ws", retry=FAST) as client,
    ):
        with pytest.raises(NotFoundError) as caught:
            await client.get_upload_session(uuid.uuid4())
    assert len(str(caught.value)) < 2000
    assert streamer.sent < 128


def listing_handler(listed_size: int, body: bytes, *, gzip_body: bool) -> FakeServer:
    file_id = uuid.uuid4()
    record = {
        "file_id": str(file_id),
        "url": "/files",
        "name": "small.txt",
        "size": listed_size,
        "created_at": "2026-01-01T00:00:00Z",
        "meta": {},
    }

    async def handle(request: web.Request) -> web.StreamResponse:
        path = request.path
        if path.endswith("/files"):
            return web.json_response({"total": 1, "has_more": False, "data": [record]})
        if path.endswith("/meta"):
            return web.json_response({})
        headers = {"Content-Type": "text/plain"}
        if gzip_body:
            headers["Content-Encoding"] = "gzip"
        return web.Response(body=body, headers=headers)

    return FakeServer(handle)


@pytest.mark.parametrize("gzip_body", [True, False])
async def test_a_download_larger_than_its_listed_size_fails_and_leaves_no_file(
    tmp_path: Path, gzip_body: bool
) -> None:
    # Listed as 10 bytes; the body is a gzip bomb (64 MiB inflated) or plainly 1 MiB.
    body = gzip_bomb(64 * MIB) if gzip_body else b"y" * MIB
    async with (
        listing_handler(10, body, gzip_body=gzip_body) as server,
        AsyncClient("key", server.api_url, "ws", retry=FAST) as client,
    ):
        report = await client.download(file_dir=tmp_path, show_progress=False)
    assert report.downloaded == ()
    assert [failed.name for failed in report.failed] == ["small.txt"]
    assert "listed size" in report.failed[0].reason
    assert list(tmp_path.iterdir()) == []  # no partial file, no temporary file


async def test_a_download_of_its_listed_size_is_saved(tmp_path: Path) -> None:
    async with (
        listing_handler(10, gzipped(b"0123456789"), gzip_body=True) as server,
        AsyncClient("key", server.api_url, "ws", retry=FAST) as client,
    ):
        report = await client.download(file_dir=tmp_path, show_progress=False, include_meta=False)
    assert [path.name for path in report.downloaded] == ["small.txt"]
    assert (tmp_path / "small.txt").read_bytes() == b"0123456789"
