"""The transport over real loopback sockets: headers, URLs, error mapping, retries, loops, secrets."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from pathlib import Path
from uuid import uuid4

import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, RetryPolicy
from deepset_cloud._http.transport import Transport
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import (
    AuthenticationError,
    ConflictError,
    ConnectError,
    DeepsetCloudError,
    NotFoundError,
    RequestTimeout,
    ResponseValidationError,
    ServerError,
    TransportError,
)
from deepset_cloud.models import WriteMode
from tests.fake_server import FILES_PAGE_EMPTY, FakeServer, drop_connection, json_response
from tests.support import fast_retry

pytestmark = pytest.mark.anyio

SECRET = "api_very-secret-key"
FAST = fast_retry(max_tries=4)


def transport_for(url: str, **kwargs: object) -> Transport:
    return Transport(api_url=url, api_key=SECRET, retry=FAST, **kwargs)  # type: ignore[arg-type]


async def test_api_requests_carry_auth_and_client_headers() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server:
        transport = transport_for(server.api_url)
        try:
            await transport.request("GET", transport.workspace_url("ws", "files"), idempotent=True)
            session = await transport.http_session()
        finally:
            await transport.aclose()
    headers = server.requests[0].headers
    assert headers["Authorization"] == f"Bearer {SECRET}"
    assert headers["Accept"] == "application/json"
    assert headers["X-Client-Source"] == "deepset-cloud"
    assert headers["User-Agent"].startswith("deepset-cloud/")
    # The shared session has no default auth header, so S3 posts made with it cannot leak the key.
    assert "Authorization" not in session.headers
    assert session.closed


async def test_workspace_names_and_ids_are_url_quoted() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server:
        transport = transport_for(server.api_url + "/")
        try:
            await transport.request(
                "GET", transport.workspace_url("my ws/../x?y#z", "files"), idempotent=True
            )
        finally:
            await transport.aclose()
    assert server.raw_paths == ["/api/v1/workspaces/my%20ws%2F..%2Fx%3Fy%23z/files"]


async def test_workspace_with_special_characters_round_trips_through_the_emulator(
    deepset_emulator: ThreadedEmulator, fast_retry: RetryPolicy
) -> None:
    workspace = f"team space {uuid4().hex[:6]} é"
    async with AsyncClient(
        deepset_emulator.api_key, deepset_emulator.api_url, workspace, retry=fast_retry
    ) as client:
        file_id = await client._api.direct_upload(
            workspace, name="a.txt", body=b"hello", meta={"k": "v"}, write_mode=WriteMode.KEEP
        )
        pages = [page async for page in client.list_files()]
    assert [file.file_id for page in pages for file in page] == [file_id]


async def test_bad_key_is_an_authentication_error_that_does_not_leak_the_key(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    async with AsyncClient(SECRET, deepset_emulator.api_url, deepset_workspace) as client:
        with pytest.raises(AuthenticationError) as info:
            async for _ in client.list_files():
                pass
    assert info.value.status_code == 401
    assert "API key" in str(info.value)
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.__dict__)


async def test_unknown_session_is_not_found(client: AsyncClient) -> None:
    with pytest.raises(NotFoundError, match="session id"):
        await client.get_upload_session(uuid4())


async def test_unknown_workspace_is_not_found_and_nothing_is_lost(
    deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Path
) -> None:
    emulator = deepset_make_emulator(auto_create_workspaces=False)
    few, many = tmp_path / "few", tmp_path / "many"
    for folder, count in ((few, 3), (many, 25)):
        folder.mkdir()
        for index in range(count):
            (folder / f"doc-{index}.txt").write_text("text", encoding="utf-8")
    async with AsyncClient(emulator.api_key, emulator.api_url, "no-such-workspace") as client:
        with pytest.raises(NotFoundError, match="workspace") as listing:
            async for _ in client.list_files():
                pass
        # Both paths stop with the error and the report of what was done: nothing (direct path: `POST files`
        # is one endpoint, so its 404 is about the workspace; session path: no session can be opened).
        with pytest.raises(NotFoundError) as direct:
            await client.upload([few], show_progress=False)
        with pytest.raises(NotFoundError) as sessions:
            await client.upload([many], show_progress=False)
    assert listing.value.status_code == 404
    for error in (direct.value, sessions.value):
        report = error.upload_report
        assert report is not None
        assert report.successful_upload_count == 0
        assert report.session_ids == ()
    assert emulator.stats()["files_stored"] == 0


@pytest.mark.parametrize(
    "body",
    [b"<html>maintenance</html>", b"", b'{"total": 1, "has_more": fal', b"\xff\xfe"],
    ids=["html", "empty", "truncated-json", "binary"],
)
async def test_success_with_garbage_body_is_a_response_validation_error(body: bytes) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        with pytest.raises(ResponseValidationError, match="not valid JSON"):
            async for _ in client.list_files():
                pass
    assert len(server.requests) == 1  # not retried: the server answered


async def test_success_with_wrong_shape_is_a_response_validation_error() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response({"total": 1, "has_more": False, "data": [{"file_id": "x"}]})

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        with pytest.raises(ResponseValidationError, match=r"data\[0\]"):
            async for _ in client.list_files():
                pass


async def test_body_cut_short_is_a_transport_error_and_retried() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json", "Content-Length": "1000"})
        await response.prepare(request)
        await response.write(b'{"total": 0, ')
        assert request.transport is not None
        request.transport.close()
        return response

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        with pytest.raises(TransportError) as info:
            async for _ in client.list_files():
                pass
    assert not isinstance(info.value, ConnectError)
    assert info.value.__cause__ is not None
    assert len(server.requests) == FAST.max_tries


async def test_malformed_answer_is_a_transport_error_whose_cause_does_not_show_the_key() -> None:
    # aiohttp keeps the request's headers on the error it raises for a bad status line.
    async def answer_garbage(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 abc garbage\r\n\r\n")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer_garbage, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        async with AsyncClient(SECRET, f"http://127.0.0.1:{port}/api/v1", "ws", retry=FAST) as client:
            with pytest.raises(TransportError) as info:
                await client.get_upload_session(uuid4())
    finally:
        server.close()
        await server.wait_closed()
    assert info.value.__cause__ is not None
    assert SECRET not in str(info.value)
    assert SECRET not in repr(info.value.__cause__)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_connection_refused_is_a_connect_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/api/v1"
    async with AsyncClient(SECRET, url, "ws", retry=FAST) as client:
        with pytest.raises(ConnectError, match="cannot connect") as info:
            await client.get_upload_session(uuid4())
    assert info.value.method == "GET"
    assert SECRET not in str(info.value)


async def test_no_answer_in_time_is_a_request_timeout() -> None:
    release = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        await release.wait()
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server:
        try:
            async with AsyncClient(
                SECRET,
                server.api_url,
                "ws",
                timeout_s=0.2,
                retry=RetryPolicy(max_tries=2, base_delay_s=0.001),
            ) as client:
                with pytest.raises(RequestTimeout):
                    await client.get_upload_session(uuid4())
        finally:
            release.set()
    assert len(server.requests) == 2


async def test_503_with_retry_after_is_retried_until_success() -> None:
    answers = [
        json_response({"errors": ["busy"]}, 503, **{"Retry-After": "0"}),
        json_response({"errors": ["slow down"]}, 429, **{"Retry-After": "0"}),
    ]

    async def handler(request: web.Request) -> web.StreamResponse:
        return answers.pop(0) if answers else json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        pages = [page async for page in client.list_files()]
    assert pages == []
    assert len(server.requests) == 3


async def test_dropped_connection_on_get_is_retried() -> None:
    drops = [True, True]

    async def handler(request: web.Request) -> web.StreamResponse:
        if drops:
            drops.pop()
            return await drop_connection(request)
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        assert [page async for page in client.list_files()] == []
    assert len(server.requests) == 3


@pytest.mark.parametrize("answer", ["503", "drop"])
async def test_post_files_is_not_retried_once_the_request_was_sent(answer: str) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        if answer == "drop":
            return await drop_connection(request)
        return json_response({"errors": ["busy"]}, 503, **{"Retry-After": "0"})

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        with pytest.raises((ServerError, TransportError)):
            await client._api.direct_upload(
                "ws", name="a.txt", body=b"x", meta=None, write_mode=WriteMode.KEEP
            )
        with pytest.raises((ServerError, TransportError)):
            await client._api.create_upload_session("ws", write_mode=WriteMode.KEEP)
    assert [request.method for request in server.requests] == ["POST", "POST"]


async def test_post_is_retried_when_the_connection_was_refused() -> None:
    attempts = []

    async def flaky_connect() -> None:
        attempts.append(1)
        if len(attempts) < 3:
            raise ConnectError("refused", method="POST", url="x")

    await FAST.call(flaky_connect, idempotent=False, describe="POST files")
    assert len(attempts) == 3


async def test_direct_upload_sends_multipart_file_and_meta_parts(tmp_path: object) -> None:
    seen: dict[str, object] = {}

    async def handler(request: web.Request) -> web.StreamResponse:
        seen["query"] = dict(request.query)
        reader = await request.multipart()
        parts = []
        while (part := await reader.next()) is not None:
            parts.append((part.name, part.filename, part.headers.get("Content-Type"), await part.read()))  # type: ignore[union-attr]
        seen["parts"] = parts
        return json_response({"file_id": "cd16435f-f6eb-423f-bf6f-994dc8a36a10"}, 201)

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        file_id = await client._api.direct_upload(
            "ws", name='my "report".txt', body=b"hello", meta={"k": "ü"}, write_mode=WriteMode.OVERWRITE
        )
    assert str(file_id) == "cd16435f-f6eb-423f-bf6f-994dc8a36a10"
    assert seen["query"] == {"write_mode": "OVERWRITE"}
    parts = seen["parts"]
    assert isinstance(parts, list)
    assert parts[0][0] == "file"
    assert parts[0][2] == "text/plain"
    assert bytes(parts[0][3]) == b"hello"
    assert parts[1][0] == "meta"
    assert bytes(parts[1][3]).decode() == '{"k": "\\u00fc"}'


async def test_transport_on_a_second_loop_after_the_first_ended_rebuilds_its_session() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(FILES_PAGE_EMPTY)

    # The server lives on this test's loop; the client is used from two loops in a worker thread.
    async with FakeServer(handler) as server:
        client = AsyncClient(SECRET, server.api_url, "ws", retry=FAST)

        async def use() -> int:
            return len([page async for page in client.list_files()])

        def run_twice() -> None:
            asyncio.run(use())  # noqa: TID251 - a user's repeated asyncio.run is what is tested
            asyncio.run(use())  # noqa: TID251

        await asyncio.to_thread(run_twice)
        await client.aclose()
    assert len(server.requests) == 2


async def test_transport_in_use_on_another_running_loop_raises_clearly() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server:
        client = AsyncClient(SECRET, server.api_url, "ws", retry=FAST)
        assert [page async for page in client.list_files()] == []

        def other_loop() -> None:
            async def use() -> None:
                async for _ in client.list_files():
                    pass

            with pytest.raises(DeepsetCloudError, match="another event loop"):
                asyncio.run(use())  # noqa: TID251

        await asyncio.to_thread(other_loop)
        await client.aclose()


async def test_closed_client_refuses_requests() -> None:
    client = AsyncClient(SECRET, "http://127.0.0.1:9/api/v1", "ws")
    await client.aclose()
    await client.aclose()
    with pytest.raises(DeepsetCloudError, match="closed"):
        await client.get_upload_session(uuid4())


async def test_logs_never_contain_the_key(caplog: pytest.LogCaptureFixture) -> None:
    answers = [json_response({"errors": ["busy"]}, 503, **{"Retry-After": "0"})]

    async def handler(request: web.Request) -> web.StreamResponse:
        return answers.pop(0) if answers else json_response(FILES_PAGE_EMPTY)

    caplog.set_level(logging.DEBUG, logger="deepset_cloud")
    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        assert [page async for page in client.list_files()] == []
    assert any("retry" in record.getMessage() for record in caplog.records)
    assert all(SECRET not in record.getMessage() for record in caplog.records)


async def test_a_409_on_a_retried_close_is_raised_for_the_caller_to_judge() -> None:
    # The first close may have gone through (its answer was lost) or the session may have expired: the
    # API layer cannot tell, so it raises; the upload pipeline asks the server for the session's status.
    answers = ["drop", "409"]

    async def handler(request: web.Request) -> web.StreamResponse:
        await request.read()
        answer = answers.pop(0)
        if answer == "drop":
            return await drop_connection(request)
        return json_response({"errors": ["session is closed already"]}, 409)

    async with FakeServer(handler) as server, AsyncClient(SECRET, server.api_url, "ws", retry=FAST) as client:
        with pytest.raises(ConflictError):
            await client._api.close_upload_session("ws", uuid4())
        answers.append("409")
        with pytest.raises(ConflictError):
            await client._api.close_upload_session("ws", uuid4())
    assert [request.method for request in server.requests] == ["PUT", "PUT", "PUT"]
