"""No error the SDK raises shows the API key: not in messages, args, attributes or any traceback locals.

Each scenario makes a real request over loopback that fails in one way, then walks the raised exception
chain the way `pytest -l` (or Sentry) prints it. The key is unique per test, so any hit is a leak.
"""

from __future__ import annotations

import asyncio
import socket
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, DeepsetCloudError, DeepsetCloudFile, RetryPolicy
from deepset_cloud.async_client import files as async_files
from deepset_cloud.errors import (
    AuthenticationError,
    ConnectError,
    IngestionTimeoutError,
    OperationTimeoutError,
    RequestTimeout,
    ServerError,
)
from deepset_cloud.sync_client import files as sync_files
from tests.fake_server import FakeServer

from .leaks import places_showing

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator

pytestmark = pytest.mark.anyio
FAST = RetryPolicy(max_tries=3, base_delay_s=0.001, max_delay_s=0.01, max_time_s=30)


def new_key() -> str:
    return f"sk-{uuid.uuid4().hex}"


def assert_hidden(error: BaseException, key: str) -> None:
    assert places_showing(error, key, skip_file=__file__) == []
    # The walk itself works: the bearer header would be found if it were there.
    probe = RuntimeError("probe")
    probe.__context__ = ValueError({"Authorization": f"Bearer {key}"})
    assert places_showing(probe, key) == ["ValueError.str", "ValueError.repr", "ValueError.args"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def keyed_emulator(deepset_make_emulator: Callable[..., ThreadedEmulator]) -> ThreadedEmulator:
    """An emulator whose only valid key is unique to this test (`emulator.api_key`)."""
    return deepset_make_emulator(api_keys=(new_key(),), ingest_delay_s=0.01)


async def test_connection_refused(deepset_workspace: str) -> None:
    key = new_key()
    async with AsyncClient(
        key, f"http://127.0.0.1:{free_port()}/api/v1", deepset_workspace, retry=FAST
    ) as client:
        with pytest.raises(ConnectError) as caught:
            await client.list_upload_sessions().__anext__()
    assert_hidden(caught.value, key)


async def test_timeout() -> None:
    never = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        await never.wait()
        return web.Response()

    key = new_key()
    async with (
        FakeServer(stall) as server,
        AsyncClient(key, server.api_url, "ws", retry=FAST, timeout_s=0.2) as client,
    ):
        with pytest.raises(RequestTimeout) as caught:
            await client.get_upload_session(uuid.uuid4())
    assert_hidden(caught.value, key)


async def test_operation_timeout_of_a_listing_cut_mid_request() -> None:
    never = asyncio.Event()

    async def stall(request: web.Request) -> web.StreamResponse:
        await never.wait()
        return web.Response()

    key = new_key()
    async with (
        FakeServer(stall) as server,
        AsyncClient(key, server.api_url, "ws", retry=FAST, timeout_s=30) as client,
    ):
        with pytest.raises(OperationTimeoutError) as caught:
            async for _ in client.list_files(timeout_s=0.2):
                pass
    assert_hidden(caught.value, key)


async def test_unauthorized_through_the_module_functions(
    keyed_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    key = new_key()  # not the emulator's
    with pytest.raises(AuthenticationError) as caught:
        async for _ in async_files.list_files(
            api_key=key, api_url=keyed_emulator.api_url, workspace_name=deepset_workspace
        ):
            pass
    assert_hidden(caught.value, key)


def test_unauthorized_through_the_sync_facade(
    keyed_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    key = new_key()
    with pytest.raises(AuthenticationError) as caught:
        sync_files.get_upload_session(
            uuid.uuid4(), api_key=key, api_url=keyed_emulator.api_url, workspace_name=deepset_workspace
        )
    assert_hidden(caught.value, key)


async def test_server_error_after_retries(keyed_emulator: ThreadedEmulator, deepset_workspace: str) -> None:
    keyed_emulator.set_faults([{"route": "list_sessions", "status": 500}])
    client = AsyncClient(keyed_emulator.api_key, keyed_emulator.api_url, deepset_workspace, retry=FAST)
    async with client:
        with pytest.raises(ServerError) as caught:
            await client.list_upload_sessions().__anext__()
    assert caught.value.status_code == 500
    assert_hidden(caught.value, keyed_emulator.api_key)


async def test_storage_failure(keyed_emulator: ThreadedEmulator, deepset_workspace: str) -> None:
    keyed_emulator.set_faults([{"route": "s3_post", "status": 500}, {"route": "s3_post", "drop": True}])
    texts = [DeepsetCloudFile(text=f"t{i}", name=f"t{i}.txt") for i in range(25)]  # a session upload
    errors: list[BaseException] = []
    async with AsyncClient(
        keyed_emulator.api_key, keyed_emulator.api_url, deepset_workspace, retry=FAST
    ) as client:
        try:
            report = await client.upload_texts(texts, show_progress=False, blocking=False)
        except DeepsetCloudError as raised:
            errors.append(raised)
        else:
            errors += [result.exception for result in report.failed if result.exception is not None]
    assert errors
    for error in errors:
        assert_hidden(error, keyed_emulator.api_key)


async def test_ingestion_timeout(
    deepset_make_emulator: Callable[..., ThreadedEmulator], deepset_workspace: str
) -> None:
    emulator = deepset_make_emulator(api_keys=(new_key(),), ingest_delay_s=30)
    texts = [DeepsetCloudFile(text=f"t{i}", name=f"t{i}.txt") for i in range(25)]
    with pytest.raises(IngestionTimeoutError) as caught:
        await async_files.upload_texts(
            texts,
            api_key=emulator.api_key,
            api_url=emulator.api_url,
            workspace_name=deepset_workspace,
            timeout_s=1,
            show_progress=False,
        )
    assert_hidden(caught.value, emulator.api_key)
