"""The emulator's connection fast path for storage posts, over raw sockets.

Plain storage posts are answered by `FastPathProtocol` itself; anything else hands the connection to
aiohttp. These tests check what a client sees on one connection across that hand-over: every request is
answered once, in order, with the same answer aiohttp would give.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from deepset_cloud.emulator import ThreadedEmulator

from .emulator_api import Api

pytestmark = pytest.mark.anyio

_BOUNDARY = "fast-path-boundary"


def _form(fields: Mapping[str, str], name: str, data: bytes) -> bytes:
    parts = [
        f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    file_head = f'--{_BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
    parts.append(file_head.encode() + b"Content-Type: text/plain\r\n\r\n" + data + b"\r\n")
    parts.append(f"--{_BOUNDARY}--\r\n".encode())
    return b"".join(parts)


def _post(
    api: Api,
    session: Mapping[str, Any],
    name: str,
    data: bytes = b"x",
    *,
    fields: Mapping[str, str] | None = None,
    headers: Mapping[str, str] | None = None,
    chunked: bool = False,
) -> bytes:
    """The bytes of one storage post as a client would send them."""
    config = session["aws_prefixed_request_config"]
    body = _form({**config["fields"], **(fields or {})}, name, data)
    host = api.emulator.base_url.removeprefix("http://")
    lines = [
        "POST /_s3/user-files-upload/ HTTP/1.1",
        f"Host: {host}",
        f"Content-Type: multipart/form-data; boundary={_BOUNDARY}",
        "Transfer-Encoding: chunked" if chunked else f"Content-Length: {len(body)}",
        *(f"{key}: {value}" for key, value in (headers or {}).items()),
    ]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    if chunked:
        half = len(body) // 2
        body = (
            b"".join(b"%x\r\n%s\r\n" % (len(piece), piece) for piece in (body[:half], body[half:]))
            + b"0\r\n\r\n"
        )
    return head + body


def _get(api: Api, path: str) -> bytes:
    host = api.emulator.base_url.removeprefix("http://")
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {api.emulator.api_key}\r\n\r\n".encode()


class _Answer:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body


async def _read_answer(reader: asyncio.StreamReader) -> _Answer:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *header_lines = head.decode().rstrip("\r\n").split("\r\n")
    headers = {}
    for line in header_lines:
        key, _, value = line.partition(":")
        headers[key.strip().lower()] = value.strip()
    status = int(status_line.split()[1])
    assert "transfer-encoding" not in headers, headers  # every answer here has a length (or none)
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return _Answer(status, headers, body)


@pytest.fixture
async def connection(api: Api) -> AsyncIterator[tuple[asyncio.StreamReader, asyncio.StreamWriter]]:
    reader, writer = await asyncio.open_connection("127.0.0.1", api.emulator.emulator.port)
    yield reader, writer
    writer.close()


async def _names(api: Api, session: Mapping[str, Any]) -> list[str]:
    return [item["name"] for item in (await api.session_files(session["session_id"]))["data"]]


async def test_posts_and_api_calls_share_one_connection(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    writer.write(_post(api, session, "a.txt"))
    assert (await _read_answer(reader)).status == 204
    # An API call hands the connection to aiohttp, which answers the posts after it.
    writer.write(_get(api, f"/api/v1/workspaces/{api.workspace}/upload_sessions/{session['session_id']}"))
    status = await _read_answer(reader)
    assert status.status == 200
    assert b'"session_id"' in status.body
    writer.write(_post(api, session, "b.txt"))
    assert (await _read_answer(reader)).status == 204
    assert sorted(await _names(api, session)) == ["a.txt", "b.txt"]


async def test_pipelined_posts_are_answered_in_order(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    statuses = ["204", "201", "200", "204"]
    writer.write(
        b"".join(
            _post(api, session, f"{n}.txt", fields={"success_action_status": status})
            for n, status in enumerate(statuses)
        )
    )
    answers = [await _read_answer(reader) for _ in statuses]
    assert [answer.status for answer in answers] == [int(status) for status in statuses]
    key = f"{api.workspace}/{session['session_id']}/1.txt"
    assert f"<Key>{key}</Key>".encode() in answers[1].body
    assert f"<Location>{api.emulator.s3_url}{key}</Location>".encode() in answers[1].body
    assert answers[1].headers["content-type"] == "application/xml; charset=utf-8"
    assert sorted(await _names(api, session)) == [f"{n}.txt" for n in range(len(statuses))]


async def test_a_post_sent_byte_by_byte_is_stored(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    for byte in _post(api, session, "slow.txt", b"slowly"):
        writer.write(bytes([byte]))
        await writer.drain()
    assert (await _read_answer(reader)).status == 204
    assert await _names(api, session) == ["slow.txt"]


async def test_a_refused_post_gets_the_usual_error_and_the_connection_goes_on(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    writer.write(_post(api, session, "bad.txt", fields={"x-amz-signature": "0" * 64}))
    refused = await _read_answer(reader)
    assert refused.status == 403
    assert b"<Code>SignatureDoesNotMatch</Code>" in refused.body
    writer.write(_post(api, session, "good.txt"))
    assert (await _read_answer(reader)).status == 204
    assert await _names(api, session) == ["good.txt"]


async def test_a_chunked_post_is_stored_by_aiohttp(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    writer.write(_post(api, session, "plain.txt"))
    fast = await _read_answer(reader)
    writer.write(_post(api, session, "chunked.txt", chunked=True))
    handed_over = await _read_answer(reader)
    assert fast.status == handed_over.status == 204
    # The fast path answers with the same headers as aiohttp (the values of Date may differ by a second).
    assert fast.headers.keys() == handed_over.headers.keys()
    assert fast.headers["server"] == handed_over.headers["server"]
    assert sorted(await _names(api, session)) == ["chunked.txt", "plain.txt"]


async def test_connection_close_is_honoured(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    writer.write(_post(api, session, "last.txt", headers={"Connection": "close"}))
    answer = await _read_answer(reader)
    assert (answer.status, answer.headers.get("connection")) == (204, "close")
    assert await reader.read() == b""  # the server closed the connection
    assert await _names(api, session) == ["last.txt"]


async def test_an_api_key_sent_to_storage_is_counted(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    session = await api.create_session()
    before = api.emulator.stats()["s3_requests_with_authorization"]
    writer.write(_post(api, session, "leak.txt", headers={"Authorization": "Bearer leaked"}))
    assert (await _read_answer(reader)).status == 204
    assert api.emulator.stats()["s3_requests_with_authorization"] == before + 1


async def test_stopping_the_emulator_closes_idle_connections(
    api: Api, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    emulator = deepset_make_emulator()
    own = api.with_emulator(emulator, "ws")
    session = await own.create_session()
    reader, writer = await asyncio.open_connection("127.0.0.1", emulator.emulator.port)
    try:
        writer.write(_post(own, session, "a.txt"))
        assert (await _read_answer(reader)).status == 204
        await asyncio.to_thread(emulator.stop)
        assert await reader.read() == b""
    finally:
        writer.close()


async def test_bytes_that_are_not_http_get_aiohttps_answer(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter]
) -> None:
    reader, writer = connection
    writer.write(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # the start of a TLS ClientHello
    answer = await _read_answer(reader)
    assert answer.status == 400


async def test_plain_posts_never_reach_aiohttp(
    api: Api, deepset_make_emulator: Callable[..., ThreadedEmulator]
) -> None:
    """The point of the fast path: aiohttp's request handler sees only what is handed over."""
    emulator = deepset_make_emulator()
    runner = emulator.emulator._runner
    assert runner is not None
    assert runner.server is not None
    server = runner.server
    handled: list[str] = []
    app_handler = server.request_handler

    async def counting(request: web.BaseRequest) -> web.StreamResponse:
        handled.append(request.method)
        return await app_handler(request)

    emulator.call(lambda: setattr(server, "request_handler", counting))
    own = api.with_emulator(emulator, "ws")
    session = await own.create_session()
    # A connection handed over stays with aiohttp: the posts get connections of their own, as the SDK's
    # do (in deepset Cloud, storage is another host).
    async with aiohttp.ClientSession() as storage_http:
        storage = Api(storage_http, emulator, "ws")
        assert [(await storage.s3_post(session, f"{n}.txt", b"x")).status for n in range(3)] == [204] * 3
        assert handled == ["POST"]  # the session's creation only
        expecting = await storage.s3_post(session, "e.txt", b"x", headers={"Expect": "100-continue"})
        assert expecting.status == 204
    assert handled == ["POST", "POST"]
    assert sorted(await _names(own, session)) == ["0.txt", "1.txt", "2.txt", "e.txt"]


@pytest.mark.parametrize("header", [b"X-Odd: a\x00b", b"X-Odd: a\rb", b"X-Odd: a\nb"])
async def test_a_head_with_control_characters_gets_aiohttps_answer(
    api: Api, connection: tuple[asyncio.StreamReader, asyncio.StreamWriter], header: bytes
) -> None:
    reader, writer = connection
    session = await api.create_session()
    post = _post(api, session, "odd.txt")
    writer.write(post.replace(b"\r\n", b"\r\n" + header + b"\r\n", 1))
    answer = await _read_answer(reader)
    assert answer.status == 400
    assert await _names(api, session) == []
