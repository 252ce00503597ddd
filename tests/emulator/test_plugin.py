"""The pytest plugin `deepset_cloud.testing`: fixtures usable from sync tests."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from deepset_cloud.emulator import ThreadedEmulator


def _get(emulator: ThreadedEmulator, path: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        emulator.api_url + path, headers={"Authorization": f"Bearer {token or emulator.api_key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_shared_emulator_serves_the_api(deepset_emulator: ThreadedEmulator, workspace: str) -> None:
    status, body = _get(deepset_emulator, f"/workspaces/{workspace}/files?limit=5")
    assert status == 200
    assert body == {"total": 0, "has_more": False, "data": []}
    assert deepset_emulator.api_url.startswith("http://127.0.0.1:")
    assert deepset_emulator.api_url.endswith("/api/v1")
    assert deepset_emulator.data_dir.is_dir()


def test_workspace_fixture_is_unique(workspace: str, request: Any) -> None:
    other = request.getfixturevalue("workspace")
    assert other == workspace  # one value per test
    assert workspace.startswith("test-")


def test_admin_helpers(deepset_emulator: ThreadedEmulator, workspace: str) -> None:
    before = deepset_emulator.stats()["requests"].get("list_files", 0)
    _get(deepset_emulator, f"/workspaces/{workspace}/files")
    assert deepset_emulator.stats()["requests"]["list_files"] == before + 1
    deepset_emulator.set_faults([{"route": "list_files", "status": 503, "count": 1}])
    with pytest.raises(urllib.error.HTTPError) as raised:
        _get(deepset_emulator, f"/workspaces/{workspace}/files")
    raised.value.close()
    assert raised.value.code == 503
    status, _ = _get(deepset_emulator, f"/workspaces/{workspace}/files")
    assert status == 200  # count=1 used up


def test_faults_are_cleared_after_a_test(deepset_emulator: ThreadedEmulator) -> None:
    deepset_emulator.set_faults([{"route": "*", "status": 500}])
    assert deepset_emulator.call(lambda: len(deepset_emulator.emulator.state.faults.specs)) == 1


def test_faults_cleared_by_the_plugin(deepset_emulator: ThreadedEmulator) -> None:
    # Runs after the test above: the autouse guard cleared its catch-all fault.
    assert deepset_emulator.call(lambda: len(deepset_emulator.emulator.state.faults.specs)) == 0


def test_make_emulator_with_overrides(make_emulator: Callable[..., ThreadedEmulator], tmp_path: Any) -> None:
    emulator = make_emulator(api_keys=("other-key",), auto_create_workspaces=False)
    assert emulator.api_key == "other-key"
    with pytest.raises(urllib.error.HTTPError) as raised:
        _get(emulator, "/workspaces/nope/files")
    raised.value.close()
    assert raised.value.code == 404


def test_plugin_import_is_cheap() -> None:
    # The plugin module itself must not pull in the emulator or aiohttp.web at import time
    # (beyond what the `deepset_cloud` package imports anyway).
    import subprocess

    code = (
        "import sys; import deepset_cloud; before = set(sys.modules); import deepset_cloud.testing; "
        "new = set(sys.modules) - before; "
        "print(any(m.startswith(('aiohttp', 'odata_query', 'deepset_cloud.emulator')) for m in new))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
