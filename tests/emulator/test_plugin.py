"""The pytest plugin `deepset_cloud.testing`: fixtures usable from sync tests."""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deepset_cloud.emulator import ThreadedEmulator


def _get(emulator: ThreadedEmulator, path: str, token: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        emulator.api_url + path, headers={"Authorization": f"Bearer {token or emulator.api_key}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, json.loads(response.read())


def test_shared_emulator_serves_the_api(deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> None:
    status, body = _get(deepset_emulator, f"/workspaces/{deepset_workspace}/files?limit=5")
    assert status == 200
    assert body == {"total": 0, "has_more": False, "data": []}
    assert deepset_emulator.api_url.startswith("http://127.0.0.1:")
    assert deepset_emulator.api_url.endswith("/api/v1")
    assert deepset_emulator.data_dir.is_dir()


def test_workspace_fixture_is_unique(deepset_workspace: str, request: Any) -> None:
    other = request.getfixturevalue("deepset_workspace")
    assert other == deepset_workspace  # one value per test
    assert deepset_workspace.startswith("test-")


def test_admin_helpers(deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> None:
    before = deepset_emulator.stats()["requests"].get("list_files", 0)
    _get(deepset_emulator, f"/workspaces/{deepset_workspace}/files")
    assert deepset_emulator.stats()["requests"]["list_files"] == before + 1
    deepset_emulator.set_faults([{"route": "list_files", "status": 503, "count": 1}])
    with pytest.raises(urllib.error.HTTPError) as raised:
        _get(deepset_emulator, f"/workspaces/{deepset_workspace}/files")
    raised.value.close()
    assert raised.value.code == 503
    status, _ = _get(deepset_emulator, f"/workspaces/{deepset_workspace}/files")
    assert status == 200  # count=1 used up


def test_faults_are_cleared_after_a_test(deepset_emulator: ThreadedEmulator) -> None:
    deepset_emulator.set_faults([{"route": "*", "status": 500}])
    assert deepset_emulator.call(lambda: len(deepset_emulator.emulator.state.faults.specs)) == 1


def test_faults_cleared_by_our_conftest(deepset_emulator: ThreadedEmulator) -> None:
    # Runs after the test above: tests/conftest.py's autouse guard (not the plugin) cleared its fault.
    assert deepset_emulator.call(lambda: len(deepset_emulator.emulator.state.faults.specs)) == 0


_USER_TEST = """
def test_what_a_user_gets(request):
    print("FIXTURES", sorted(request.fixturenames))
"""


def test_plugin_adds_only_prefixed_fixtures_and_no_autouse(tmp_path: Path) -> None:
    # A user's session (outside our suite, so without tests/conftest.py) with the installed plugin.
    (tmp_path / "test_user.py").write_text(_USER_TEST)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    run = functools.partial(
        subprocess.run, capture_output=True, text=True, check=False, cwd=tmp_path, timeout=120
    )
    used = run([sys.executable, "-m", "pytest", "-s", "-q", "-p", "no:cacheprovider", "test_user.py"])
    assert used.returncode == 0, used.stdout + used.stderr
    (line,) = [x for x in used.stdout.splitlines() if x.startswith("FIXTURES")]
    assert line == "FIXTURES ['request']"  # nothing autouse was added to the user's test
    listed = run([sys.executable, "-m", "pytest", "--fixtures", "-v", "-p", "no:cacheprovider"])
    assert listed.returncode == 0, listed.stdout + listed.stderr
    ours = re.findall(r"^(\w+)(?: \[\w+ scope\])? -- .*deepset_cloud[/\\]testing\.py", listed.stdout, re.M)
    assert sorted(ours) == ["deepset_emulator", "deepset_make_emulator", "deepset_workspace"]


def test_make_emulator_with_overrides(
    deepset_make_emulator: Callable[..., ThreadedEmulator], tmp_path: Any
) -> None:
    emulator = deepset_make_emulator(api_keys=("other-key",), auto_create_workspaces=False)
    assert emulator.api_key == "other-key"
    with pytest.raises(urllib.error.HTTPError) as raised:
        _get(emulator, "/workspaces/nope/files")
    raised.value.close()
    assert raised.value.code == 404


def test_plugin_import_is_cheap() -> None:
    # The plugin module itself must not pull in the emulator or aiohttp.web at import time
    # (beyond what the `deepset_cloud` package imports anyway).
    code = (
        "import sys; import deepset_cloud; before = set(sys.modules); import deepset_cloud.testing; "
        "new = set(sys.modules) - before; "
        "print(any(m.startswith(('aiohttp', 'odata_query', 'deepset_cloud.emulator')) for m in new))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
