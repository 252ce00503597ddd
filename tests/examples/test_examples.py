"""Every code example of the README runs as written against the emulator (the Django one: tests/django_app)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.sync_client import files

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


def example_env(emulator: ThreadedEmulator, workspace: str, home: Path) -> dict[str, str]:
    """Settings as the README's "Configuration" section sets them, a fresh HOME, and our `deepset-cloud`."""
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    shim = bin_dir / "deepset-cloud"  # the official SDK may own the script name in this venv
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m deepset_cloud "$@"\n', encoding="utf-8")
    shim.chmod(0o755)
    env = {
        key: value for key, value in os.environ.items() if not key.startswith(("API_", "DEFAULT_WORKSPACE"))
    }
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), env.get("PATH", "")])
    env.update(
        HOME=str(home),
        PATH=path,
        API_URL=emulator.api_url,
        API_KEY=emulator.api_key,
        DEFAULT_WORKSPACE_NAME=workspace,
    )
    return env


def run_example(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run one example the way the README says, from `cwd`."""
    result = subprocess.run(
        command, env=env, cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    (corpus / "sub").mkdir(parents=True)
    (corpus / "a.txt").write_text("alpha", encoding="utf-8")
    (corpus / "a.txt.meta.json").write_text(json.dumps({"lang": "en"}), encoding="utf-8")
    (corpus / "sub" / "b.md").write_text("# beta", encoding="utf-8")
    return corpus


def test_the_readme_blocks_are_the_example_files() -> None:
    check = subprocess.run(
        [sys.executable, "-m", "tools.readme_examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert check.returncode == 0, check.stderr


def test_upload_and_list(deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path) -> None:
    _corpus(tmp_path)
    env = example_env(deepset_emulator, deepset_workspace, tmp_path / "home")
    out = run_example(
        [sys.executable, str(EXAMPLES / "upload_and_list.py"), "./corpus"], env, tmp_path
    ).stdout
    assert "uploaded 2 of 2, 0 failed" in out
    listed = sorted(line.split()[0] for line in out.splitlines()[1:])
    assert listed == ["a.txt", "hello.txt"]  # the files with lang 'en'


def test_async_client(deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path) -> None:
    env = example_env(deepset_emulator, deepset_workspace, tmp_path / "home")
    out = run_example([sys.executable, str(EXAMPLES / "async_client.py")], env, tmp_path).stdout
    assert "uploaded 30 files in sessions" in out
    assert "ingested: 30" in out
    assert "30 notes listed" in out


def test_download(deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path) -> None:
    files.upload(
        paths=[_corpus(tmp_path)],
        recursive=True,
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=deepset_workspace,
        show_progress=False,
    )
    env = example_env(deepset_emulator, deepset_workspace, tmp_path / "home")
    out = run_example([sys.executable, str(EXAMPLES / "download.py"), "./downloads"], env, tmp_path).stdout
    assert "downloaded 1 files into downloads" in out
    assert sorted(path.name for path in (tmp_path / "downloads").iterdir()) == ["a.txt", "a.txt.meta.json"]


def test_handle_errors(deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path) -> None:
    env = example_env(deepset_emulator, deepset_workspace, tmp_path / "home")
    out = run_example([sys.executable, str(EXAMPLES / "handle_errors.py")], env, tmp_path).stdout
    assert out.splitlines() == ["wrong key: 401", "uploaded before the error: 0"]


def test_cli_tour(deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path) -> None:
    _corpus(tmp_path)
    (tmp_path / "corpus" / "hello.txt").write_text("hello", encoding="utf-8")
    env = example_env(deepset_emulator, deepset_workspace, tmp_path / "home")
    result = run_example(["bash", str(EXAMPLES / "cli_tour.sh"), "./corpus"], env, tmp_path)
    assert "Uploaded 3 of 3 objects (0 failed, 0 skipped)." in result.stdout
    assert (tmp_path / "downloads" / "hello.txt").read_text(encoding="utf-8") == "hello"
    assert "Traceback" not in result.stderr
