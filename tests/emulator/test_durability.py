"""Acknowledged storage posts survive SIGKILL; odd Authorization headers get 401, never 500."""

from __future__ import annotations

import asyncio
import os
import select
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from .emulator_api import Reply

pytestmark = pytest.mark.anyio

_KEY = "durability-key"
_ADMIN = "durability-admin"
_ROUNDS = 3
_POSTERS = 24
_KILL_AFTER_ACKS = 150


@contextmanager
def _emulator_process(data_dir: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """`python -m deepset_cloud.emulator` on a free port; yields (process, API URL); killed at the end."""
    proc = subprocess.Popen(
        [
            *(sys.executable, "-m", "deepset_cloud.emulator", "--port", "0", "--data-dir", str(data_dir)),
            *("--api-key", _KEY, "--admin-token", _ADMIN, "--ingest-delay-s", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the emulator printed no URL"
        yield proc, proc.stdout.readline().strip()
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


async def _call(http: aiohttp.ClientSession, method: str, url: str, **kwargs: Any) -> Reply:
    headers = {"Authorization": f"Bearer {_KEY}"}
    async with http.request(method, url, headers=headers, **kwargs) as response:
        return Reply(response.status, await response.read(), dict(response.headers))


async def _post(http: aiohttp.ClientSession, config: dict[str, Any], name: str) -> int:
    form = aiohttp.FormData(quote_fields=True)
    for key, value in config["fields"].items():
        form.add_field(key, value)
    form.add_field("file", name.encode() * 20, filename=name, content_type="text/plain")
    async with http.post(config["url"], data=form) as response:
        await response.read()
        return response.status


async def _stored_names(http: aiohttp.ClientSession, api_url: str, session_id: str) -> set[str]:
    names: set[str] = set()
    page = 1
    while True:
        url = f"{api_url}/workspaces/ws/upload_sessions/{session_id}/files"
        reply = await _call(http, "GET", url, params={"limit": 1000, "page_number": page})
        assert reply.status == 200, reply.text
        names |= {item["name"] for item in reply.json["data"]}
        if not reply.json["has_more"]:
            return names
        page += 1


@pytest.mark.timeout(300)  # four emulator processes start: slow on a loaded machine
async def test_every_acknowledged_post_survives_sigkill(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acked: set[str] = set()
    counter = iter(range(10**9))
    async with aiohttp.ClientSession() as http:
        with _emulator_process(data_dir) as (_proc, api_url):
            reply = await _call(http, "POST", f"{api_url}/workspaces/ws/upload_sessions", json={})
            assert reply.status == 201, reply.text
            session = reply.json
        session_id = session["session_id"]
        for _round in range(_ROUNDS):
            with _emulator_process(data_dir) as (proc, api_url):
                base = api_url.removesuffix("/api/v1")
                config = {**session["aws_prefixed_request_config"], "url": f"{base}/_s3/user-files-upload/"}
                enough = asyncio.Event()
                round_acks = 0

                async def poster(config: dict[str, Any] = config, enough: asyncio.Event = enough) -> None:
                    nonlocal round_acks
                    while True:
                        name = f"object-{next(counter):06}.txt"
                        try:
                            status = await _post(http, config, name)
                        except (aiohttp.ClientError, asyncio.TimeoutError):
                            return  # the server is gone: this post was never acknowledged
                        assert status == 204
                        acked.add(name)
                        round_acks += 1
                        if round_acks >= _KILL_AFTER_ACKS:
                            enough.set()

                tasks = [asyncio.create_task(poster()) for _ in range(_POSTERS)]
                await asyncio.wait_for(enough.wait(), 60)
                proc.send_signal(signal.SIGKILL)  # mid-stream: many posts are in flight
                await asyncio.wait_for(asyncio.gather(*tasks), 60)
        with _emulator_process(data_dir) as (_proc, api_url):
            stored = await _stored_names(http, api_url, session_id)
            lost = acked - stored
            assert not lost, f"{len(lost)} of {len(acked)} acknowledged objects lost, e.g. {sorted(lost)[:3]}"
            assert len(acked) >= _ROUNDS * _KILL_AFTER_ACKS
            # The stored objects are whole: the session ingests every one of them.
            reply = await _call(
                http,
                "PUT",
                f"{api_url}/workspaces/ws/upload_sessions/{session_id}",
                json={"status": "CLOSED"},
            )
            assert reply.status == 204, reply.text
            deadline = asyncio.get_running_loop().time() + 60
            while True:
                reply = await _call(http, "GET", f"{api_url}/workspaces/ws/upload_sessions/{session_id}")
                counts = reply.json["ingestion_status"]
                if counts["finished_files"] + counts["failed_files"] >= len(stored):
                    break
                assert asyncio.get_running_loop().time() < deadline, counts
                await asyncio.sleep(0.05)
            assert counts == {"finished_files": len(stored), "failed_files": 0}


async def _raw_request(url: str, path: str, authorization: bytes) -> tuple[int, bytes]:
    """A request whose Authorization header carries arbitrary bytes (clients refuse to send these)."""
    host, _, port = url.removeprefix("http://").partition("/")[0].rpartition(":")
    reader, writer = await asyncio.open_connection(host, int(port))
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n".encode()
            + b"Authorization: "
            + authorization
            + b"\r\n\r\n"
        )
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 30)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer ключ".encode(),  # non-ASCII UTF-8
        b"Bearer \xff\xfe\x80",  # not UTF-8 at all
        b"Bearer test-api-key\xc3\xa9",  # a valid key with a non-ASCII tail
        b"Basic dGVzdDp0ZXN0",
        b"Bearer",
    ],
)
async def test_odd_authorization_headers_get_401(deepset_emulator: Any, authorization: bytes) -> None:
    base = deepset_emulator.base_url
    for path in ("/api/v1/workspaces/ws/files", "/_emulator/stats"):
        status, body = await _raw_request(base, path, authorization)
        assert status == 401, body
        assert b'"errors"' in body
