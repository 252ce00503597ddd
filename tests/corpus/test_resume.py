"""A sync killed with SIGKILL and run again: only the missing files are uploaded, never a duplicate."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from deepset_cloud._corpus.meta import CONTENT_HASH_KEY
from deepset_cloud._corpus.plandb import SCRATCH_PREFIX
from deepset_cloud._http.pagination import iterate_file_pages
from deepset_cloud.async_client.client import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.testing import TEST_API_KEY

from .conftest import write_corpus

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(120)]

FILES = 40  # more than the direct-upload threshold: the session path

_CHILD = textwrap.dedent(
    """
    import asyncio, sys
    from deepset_cloud.async_client.client import AsyncClient

    async def main() -> None:
        async with AsyncClient(api_key=sys.argv[1], api_url=sys.argv[2], s3_concurrency=1) as client:
            await client.sync([sys.argv[3]], workspace_name=sys.argv[4], show_progress=False)

    asyncio.run(main())
    """
)


def _start_child(
    emulator: ThreadedEmulator, root: Path, workspace: str, home: Path
) -> subprocess.Popen[bytes]:
    env = {**os.environ, "HOME": str(home), "DEEPSET_CLOUD_CACHE_DIR": str(home / "cache")}
    command = [sys.executable, "-c", _CHILD, TEST_API_KEY, emulator.api_url, str(root), workspace]
    return subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _kill_when(
    child: subprocess.Popen[bytes], condition: Callable[[], bool], deadline_s: float = 60.0
) -> None:
    deadline = time.monotonic() + deadline_s
    while not condition():
        assert child.poll() is None, f"the sync ended before the kill point: {child.stderr.read()!r}"  # type: ignore[union-attr]
        assert time.monotonic() < deadline, "the kill point was never reached"
        time.sleep(0.005)
    child.send_signal(signal.SIGKILL)
    child.wait()
    if child.stderr is not None:
        child.stderr.close()
    assert child.returncode == -signal.SIGKILL


async def _stored(client: AsyncClient, workspace: str) -> dict[str, list[str | None]]:
    found: dict[str, list[str | None]] = {}
    async for page in iterate_file_pages(client._api, workspace, batch_size=500):
        for file in page.data:
            found.setdefault(file.name, []).append(file.meta.get(CONTENT_HASH_KEY))
    return found


def _expected(root: Path) -> dict[str, list[str | None]]:
    return {path.name: [hashlib.sha256(path.read_bytes()).hexdigest()] for path in root.iterdir()}


@pytest.fixture
def emulator(deepset_make_emulator: Callable[..., ThreadedEmulator]) -> ThreadedEmulator:
    """A private emulator: these tests change its ingestion delay and faults."""
    return deepset_make_emulator()


async def test_killed_while_posting_then_resumed(
    emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {f"doc{i:03}.txt": f"content {i}" for i in range(FILES)})
    emulator.set_faults([{"route": "s3_post", "latency_s": 0.05}])
    child = _start_child(emulator, root, deepset_workspace, tmp_path / "home")
    _kill_when(child, lambda: emulator.stats()["s3_objects_received"] >= 12)
    emulator.clear_faults()
    posted_before = emulator.stats()["s3_objects_received"]
    killed_scratch = f"{SCRATCH_PREFIX}{child.pid}-"
    assert any(name.startswith(killed_scratch) for name in os.listdir(tempfile.gettempdir()))

    async with AsyncClient(api_key=TEST_API_KEY, api_url=emulator.api_url) as client:
        report = await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
        assert report.failed == ()
        assert report.uploaded + report.unchanged == FILES
        assert await _stored(client, deepset_workspace) == _expected(root)
    # The rerun swept the killed run's scratch folder.
    assert not any(name.startswith(killed_scratch) for name in os.listdir(tempfile.gettempdir()))
    # The killed run's session was never closed, so nothing of it was ingested: everything is posted again.
    assert emulator.stats()["s3_objects_received"] - posted_before == 2 * report.uploaded


async def test_killed_after_close_before_ingestion_then_resumed(
    emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    root = write_corpus(tmp_path / "corpus", {f"doc{i:03}.txt": f"content {i}" for i in range(FILES)})
    emulator.configure(ingest_delay_s=2.0)  # the killed run's session is ingested after the rerun's
    child = _start_child(emulator, root, deepset_workspace, tmp_path / "home")
    _kill_when(child, lambda: emulator.stats()["requests"].get("close_session", 0) >= 1)
    emulator.configure(ingest_delay_s=0.01)

    async with AsyncClient(api_key=TEST_API_KEY, api_url=emulator.api_url) as client:
        report = await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
        assert report.failed == ()
        assert await _stored(client, deepset_workspace) == _expected(root)
        # Now let the killed run's session be ingested too: OVERWRITE keeps one file per name.
        first = [
            s async for page in client.list_upload_sessions(workspace_name=deepset_workspace) for s in page
        ]
        killed = min(first, key=lambda session: session.created_at)
        deadline = time.monotonic() + 30
        while True:
            status = await client.get_upload_session(killed.session_id, workspace_name=deepset_workspace)
            done = status.ingestion_status.finished_files + status.ingestion_status.failed_files
            if done == FILES:
                break
            assert time.monotonic() < deadline, f"the killed run's session never finished ingesting ({done})"
            await _pause()
        assert await _stored(client, deepset_workspace) == _expected(root)
        again = await client.sync([root], workspace_name=deepset_workspace, show_progress=False)
        assert (again.uploaded, again.updated, again.unchanged) == (0, 0, FILES)


async def _pause() -> None:
    import anyio

    await anyio.sleep(0.05)  # polling interval of a condition with a deadline, not a synchronisation
