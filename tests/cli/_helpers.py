"""Running the `deepset-cloud` command in a subprocess, as a user's shell would."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from deepset_cloud.emulator import ThreadedEmulator

COMMAND = [sys.executable, "-m", "deepset_cloud.cli"]


def credentials(emulator: ThreadedEmulator, workspace: str) -> list[str]:
    """The options that point a command at the emulator."""
    return ["--api-key", emulator.api_key, "--api-url", emulator.api_url, "--workspace-name", workspace]


def clean_env(home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without any deepset Cloud settings, with its own HOME."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("API_KEY", "API_URL", "DEFAULT_WORKSPACE_NAME")
    }
    env["HOME"] = str(home)
    env.update(extra or {})
    return env


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    stdin: str | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run the command to completion and capture its output."""
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=None if env is None else dict(env),
        cwd=cwd,
        start_new_session=True,  # no controlling terminal: prompts read stdin
    )
