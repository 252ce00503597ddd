"""Fixtures of the sync tests: a client on the shared emulator, a private cache folder, corpus helpers."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from deepset_cloud.async_client.client import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.testing import TEST_API_KEY

UPLOAD_ROUTES = ("s3_post", "direct_upload", "create_session")


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own hash cache (and HOME), as a fresh machine would."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("DEEPSET_CLOUD_CACHE_DIR", str(home / "cache"))
    return home / "cache"


@pytest.fixture
async def client(deepset_emulator: ThreadedEmulator) -> AsyncIterator[AsyncClient]:
    """A client of the shared emulator."""
    async with AsyncClient(api_key=TEST_API_KEY, api_url=deepset_emulator.api_url) as made:
        yield made


def write_corpus(root: Path, files: Mapping[str, str | dict[str, Any]]) -> Path:
    """Write `{relative path: text}`; a dict value is written as JSON (for sidecars)."""
    for relative, content in files.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content) if isinstance(content, dict) else content)
    return root


def touch_old(path: Path) -> None:
    """Move the mtime back a day, so the hash cache may keep the file's hash."""
    stamp = path.stat().st_mtime_ns - 86_400 * 10**9
    os.utime(path, ns=(stamp, stamp))


def upload_requests(emulator: ThreadedEmulator) -> int:
    """Requests that store content: storage posts, direct uploads, new sessions."""
    requests = emulator.stats()["requests"]
    return sum(int(requests.get(route, 0)) for route in UPLOAD_ROUTES)


async def workspace_files(client: AsyncClient, workspace: str) -> dict[str, list[dict[str, Any]]]:
    """Name -> the user-visible metadata of every file with that name (several if duplicated)."""
    found: dict[str, list[dict[str, Any]]] = {}
    async for page in client.list_files(workspace_name=workspace, batch_size=500):
        for file in page:
            found.setdefault(file.name, []).append(file.meta)
    return found
