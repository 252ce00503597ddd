"""Clients shared by the module functions: one per (loop, api_url, api_key), closed when the loop ends."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import textwrap

import pytest
from aiohttp import web

from deepset_cloud import AsyncClient
from deepset_cloud._http import loop_cleanup as _loop_cleanup
from deepset_cloud.async_client import client_cache as _client_cache, files
from deepset_cloud.async_client.client_cache import aclose_cached_clients, cached_client
from deepset_cloud.emulator import ThreadedEmulator
from tests.fake_server import FILES_PAGE_EMPTY, FakeServer, json_response

pytestmark = pytest.mark.anyio


async def test_same_credentials_on_one_loop_share_a_client() -> None:
    first = cached_client("key-a", "http://127.0.0.1:9/api/v1")
    assert cached_client("key-a", "http://127.0.0.1:9/api/v1/") is first  # same URL after normalising
    assert cached_client("key-b", "http://127.0.0.1:9/api/v1") is not first
    assert cached_client("key-a", "http://127.0.0.1:10/api/v1") is not first
    await aclose_cached_clients()
    assert cached_client("key-a", "http://127.0.0.1:9/api/v1") is not first
    await aclose_cached_clients()


async def test_repeated_module_calls_reuse_one_connection() -> None:
    peers: set[object] = set()

    async def handler(request: web.Request) -> web.StreamResponse:
        assert request.transport is not None
        peers.add(request.transport.get_extra_info("peername"))
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server:
        for _ in range(5):
            async for _page in files.list_files(api_key="k", api_url=server.api_url, workspace_name="ws"):
                pass
        await aclose_cached_clients()
    assert len(server.requests) == 5
    assert len(peers) == 1


def test_clients_of_a_finished_loop_are_closed_and_forgotten() -> None:
    seen: list[AsyncClient] = []

    async def use() -> None:
        client = cached_client("k", "http://127.0.0.1:9/api/v1")
        await client._transport.http_session()  # opens the pool without network I/O
        seen.append(client)

    def run_twice() -> None:
        asyncio.run(use())  # noqa: TID251 - users' repeated asyncio.run is what is tested
        asyncio.run(use())  # noqa: TID251

    # A worker thread: this test's own loop (if any) must not be the one that ends.
    import threading

    thread = threading.Thread(target=run_twice)
    thread.start()
    thread.join(30)
    first, second = seen
    assert first is not second
    for client in seen:
        assert client._transport._session is None or client._transport._session.closed
        assert client._transport._closed
    assert all(
        loop.is_closed() is False for loop in _client_cache._CACHE
    )  # no entry of a finished loop is kept


async def test_user_clients_are_closed_when_their_loop_ends_even_without_aclose() -> None:
    holder: list[AsyncClient] = []

    async def use() -> None:
        client = AsyncClient("k", "http://127.0.0.1:9/api/v1")
        session = await client._transport.http_session()
        assert _loop_cleanup.resources_of(asyncio.get_running_loop()) == [client._transport]
        assert not session.closed
        holder.append(client)

    await asyncio.to_thread(lambda: asyncio.run(use()))  # noqa: TID251
    (client,) = holder
    assert client._transport._session is None
    # The client is still usable on a new loop: it opens a new pool there.
    await client._transport.http_session()
    await client.aclose()


SCRIPT = """
import asyncio, gc, logging, sys
import psutil
from deepset_cloud import DeepsetCloudFile
from deepset_cloud.async_client import files

async def once(index):
    await files.upload_texts([DeepsetCloudFile(text="x", name=f"f{index}.txt")], show_progress=False)
    names = [f.name async for page in files.list_files() for f in page]
    status = [s async for page in files.list_upload_sessions() for s in page]
    return len(names), len(status)

# Dev mode's "Executing <Task> took 0.123 seconds" warnings only say the machine is busy; unclosed
# sessions are still reported (at ERROR, by the same logger) and ResourceWarnings are errors.
logging.getLogger("asyncio").setLevel(logging.ERROR)
process = psutil.Process()
asyncio.run(once(0))
gc.collect()
baseline = process.num_fds()
for index in range(1, 8):
    result = asyncio.run(once(index))
gc.collect()
print(result, process.num_fds() - baseline)
"""


@pytest.mark.slow
def test_repeated_asyncio_run_leaks_no_sessions_or_fds(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: object
) -> None:
    env = {
        "API_KEY": deepset_emulator.api_key,
        "API_URL": deepset_emulator.api_url,
        "DEFAULT_WORKSPACE_NAME": deepset_workspace,
        "PATH": "",
        "PYTHONDEVMODE": "1",  # reports unclosed sockets, transports and sessions as ResourceWarnings
    }
    completed = subprocess.run(
        [sys.executable, "-W", "error", "-X", "dev", "-c", textwrap.dedent(SCRIPT)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=str(tmp_path),
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    assert completed.stdout.split() == ["(8,", "0)", "0"]


async def test_cached_clients_open_no_connection_until_used() -> None:
    assert cached_client("k", "http://127.0.0.1:9/api/v1")._transport._session is None
    await aclose_cached_clients()


async def test_many_threads_with_their_own_loops_get_their_own_clients() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response(FILES_PAGE_EMPTY)

    async with FakeServer(handler) as server:

        async def use() -> AsyncClient:
            for _ in range(3):
                async for _page in files.list_files(api_key="k", api_url=server.api_url, workspace_name="ws"):
                    pass
            return cached_client("k", server.api_url)

        def run() -> AsyncClient:
            return asyncio.run(use())  # noqa: TID251 - a worker thread with its own loop

        clients = await asyncio.gather(*(asyncio.to_thread(run) for _ in range(4)))
    assert len({id(client) for client in clients}) == 4
    assert all(client._transport._closed for client in clients)  # closed when each thread's loop ended
    assert len(server.requests) == 12
