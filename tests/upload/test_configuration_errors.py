"""The same configuration mistake raises the same error whatever the batch size (direct path or sessions)."""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from deepset_cloud import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import AuthenticationError, ConnectError, DeepsetCloudError, NotFoundError
from tests.support import fast_retry

FAST = fast_retry(max_tries=2)
SIZES = [3, 25]  # 3 files go through `POST files`, 25 through an upload session
pytestmark = pytest.mark.anyio


def _folder(root: Path, count: int) -> Path:
    folder = root / f"docs-{count}"
    folder.mkdir()
    for index in range(count):
        (folder / f"doc-{index}.txt").write_text("text", encoding="utf-8")
    return folder


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port  # nothing listens there any more: connections are refused


async def _upload_error(api_key: str, api_url: str, workspace: str, folder: Path) -> DeepsetCloudError:
    async with AsyncClient(api_key, api_url, workspace, retry=FAST) as client:
        with pytest.raises(DeepsetCloudError) as info:
            await client.upload([folder], show_progress=False)
    return info.value


@pytest.mark.parametrize("count", SIZES)
async def test_an_api_url_without_api_v1_raises_not_found_that_names_api_url(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path, count: int
) -> None:
    error = await _upload_error(
        deepset_emulator.api_key, deepset_emulator.base_url, deepset_workspace, _folder(tmp_path, count)
    )
    assert isinstance(error, NotFoundError)
    assert "check API_URL" in str(error)
    assert "workspace name" not in str(error)
    assert error.upload_report is not None
    assert error.upload_report.successful_upload_count == 0


@pytest.mark.parametrize("count", SIZES)
async def test_an_unreachable_api_url_raises_connect_error(
    tmp_path: Path, deepset_workspace: str, count: int
) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/v1"
    error = await _upload_error("some-key", url, deepset_workspace, _folder(tmp_path, count))
    assert isinstance(error, ConnectError)


@pytest.mark.parametrize("count", SIZES)
async def test_a_wrong_key_raises_authentication_error(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path, count: int
) -> None:
    error = await _upload_error(
        "wrong-key", deepset_emulator.api_url, deepset_workspace, _folder(tmp_path, count)
    )
    assert isinstance(error, AuthenticationError)


@pytest.mark.parametrize("count", SIZES)
async def test_an_unknown_workspace_raises_not_found_that_names_the_workspace(
    deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Path, count: int
) -> None:
    emulator = deepset_make_emulator(auto_create_workspaces=False)
    error = await _upload_error(
        emulator.api_key, emulator.api_url, "no-such-workspace", _folder(tmp_path, count)
    )
    assert isinstance(error, NotFoundError)
    assert "workspace name" in str(error)  # the API's own JSON 404: the workspace, not API_URL
    assert emulator.stats()["files_stored"] == 0
