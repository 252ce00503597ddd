"""Run the official SDK in a child process whose environment the test controls completely.

The official SDK reads `API_KEY`, `API_URL`, `DEFAULT_WORKSPACE_NAME` (and proxy variables, and
`ASYNC_CLIENT_TIMEOUT`) from the environment, `./.env` and `~/.deepset-cloud/.env`, partly at import
time. So every scenario runs in `python -I` (no PYTHON* variables, no user site) with a fresh HOME and
cwd, an environment built from a short allow-list, and the connection passed as explicit arguments.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

SCENARIO_SCRIPT = Path(__file__).with_name("sdk_scenarios.py")

# Only what a Python process needs to start and decode text; nothing the SDK could read as config.
INHERITED_ENV_KEYS = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "SYSTEMROOT", "TMPDIR", "TEMP", "TMP")

Step = dict[str, Any]
StepResult = dict[str, Any]


def step(op: str, *, client: str = "sync", expect_error: bool = False, **kwargs: Any) -> Step:
    """One call of the official SDK: `op` is a function of its `workflows.<client>_client.files`."""
    return {"op": op, "client": client, "expect_error": expect_error, "kwargs": kwargs}


@dataclass(frozen=True)
class SdkRunner:
    """Runs steps of the official SDK against one emulator and workspace, isolated from the user."""

    api_url: str
    api_key: str
    workspace: str
    sandbox: Path

    def child_env(self, home: Path) -> dict[str, str]:
        """The child's whole environment: the allow-list plus a private HOME."""
        env = {key: os.environ[key] for key in INHERITED_ENV_KEYS if key in os.environ}
        env["HOME"] = str(home)
        env["USERPROFILE"] = str(home)  # Path.home() on Windows
        return env

    def run(self, *steps: Step, timeout_s: float = 90.0) -> list[StepResult]:
        """Run `steps` in one fresh child process and return one result per executed step.

        Fails the test if the child crashes, if a step raises although it did not expect to, or if a
        step that expected an exception returned normally.
        """
        run_dir = Path(tempfile.mkdtemp(prefix="sdk-run-", dir=self.sandbox))
        home, cwd = run_dir / "home", run_dir / "cwd"
        home.mkdir()
        cwd.mkdir()
        request_path, result_path = run_dir / "request.json", run_dir / "result.json"
        request = {"api_url": self.api_url, "api_key": self.api_key, "workspace": self.workspace}
        request_path.write_text(json.dumps(request | {"steps": list(steps)}), encoding="utf-8")
        completed = subprocess.run(
            [sys.executable, "-I", str(SCENARIO_SCRIPT), str(request_path), str(result_path)],
            cwd=cwd,
            env=self.child_env(home),
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=timeout_s,
            check=False,
        )
        output = f"--- child stdout ---\n{completed.stdout[-3000:]}\n--- child stderr ---\n{completed.stderr[-3000:]}"
        if completed.returncode != 0 or not result_path.exists():
            pytest.fail(f"official SDK child exited with {completed.returncode}\n{output}")
        results: list[StepResult] = json.loads(result_path.read_text(encoding="utf-8"))
        for sent, got in zip(steps, results, strict=False):
            if not got["ok"] and not sent["expect_error"]:
                error = got["error"]
                pytest.fail(
                    f"official SDK step {sent['op']!r} raised {error['module']}.{error['type']}: "
                    f"{error['message']}\n{error['traceback']}\n{output}"
                )
            if got["ok"] and sent["expect_error"]:
                pytest.fail(
                    f"official SDK step {sent['op']!r} was expected to fail but returned {got['value']!r}"
                )
        assert len(results) == len(steps), output
        return results

    def value(self, one_step: Step, *, timeout_s: float = 90.0) -> Any:
        """Run a single step that must succeed and return its value."""
        return self.run(one_step, timeout_s=timeout_s)[0]["value"]


def write_corpus(folder: Path, contents: dict[str, bytes], sidecars: dict[str, str]) -> None:
    """Write files and their raw `<name>.meta.json` sidecar texts (possibly invalid JSON) into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    for name, text in sidecars.items():
        (folder / f"{name}.meta.json").write_text(text, encoding="utf-8")


def flatten(pages: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """All files (or sessions) of a paged listing, in order."""
    return [item for page in pages for item in page]
