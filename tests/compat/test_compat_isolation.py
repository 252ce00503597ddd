"""The compat runner isolates the official SDK from the user's configuration.

The parent process here is deliberately poisoned: API_* variables, proxy variables, a `./.env` in its
cwd and a `~/.deepset-cloud/.env` in its HOME, all pointing at a dead port with a wrong key. The
child must see none of it, and a real call must still reach the emulator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .sdk_runner import SdkRunner, flatten, step

pytestmark = pytest.mark.compat

DEAD_URL = "http://127.0.0.1:9/api/v1"
POISON = {
    "API_KEY": "api_poisoned-key",
    "API_URL": DEAD_URL,
    "DEFAULT_WORKSPACE_NAME": "poisoned-workspace",
    "ASYNC_CLIENT_TIMEOUT": "1",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "ALL_PROXY": "http://127.0.0.1:9",
}
DOTENV = "".join(f"{key}={value}\n" for key, value in POISON.items() if key.startswith(("API_", "DEFAULT")))


def test_child_sees_neither_environment_nor_dotenv_files_of_the_parent(
    sdk: SdkRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    poisoned_home, poisoned_cwd = tmp_path / "poisoned-home", tmp_path / "poisoned-cwd"
    (poisoned_home / ".deepset-cloud").mkdir(parents=True)
    (poisoned_home / ".deepset-cloud" / ".env").write_text(DOTENV, encoding="utf-8")
    poisoned_cwd.mkdir()
    (poisoned_cwd / ".env").write_text(DOTENV, encoding="utf-8")
    monkeypatch.setenv("HOME", str(poisoned_home))
    monkeypatch.chdir(poisoned_cwd)
    for key, value in POISON.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("PYTHONPATH", str(poisoned_cwd))

    probe, texts, listing = sdk.run(
        step("env_probe"),
        step("upload_texts", files=[{"name": "isolated.txt", "text": "ok"}], show_progress=False),
        step("list_files"),
    )

    seen = probe["value"]
    assert seen["leaked_env"] == []
    assert not {"PYTHONPATH", "VIRTUAL_ENV"} & set(seen["env_keys"])
    assert Path(seen["home"]).is_relative_to(sdk.sandbox)
    assert Path(seen["cwd"]).is_relative_to(sdk.sandbox)
    # Values the SDK froze at import time: defaults, not the poisoned files.
    assert seen["config_api_key"] == ""
    assert seen["config_api_url"] == "https://api.cloud.deepset.ai/api/v1"
    assert seen["config_default_workspace"] == ""
    assert seen["upload_default_workspace"] == ""
    assert seen["config_async_client_timeout"] == 300
    # The explicit connection reaches the emulator (a leaked proxy or URL would hit the dead port).
    assert texts["value"]["successful_upload_count"] == 1
    assert [f["name"] for f in flatten(listing["value"])] == ["isolated.txt"]
