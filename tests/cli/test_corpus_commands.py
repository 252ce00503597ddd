"""`deepset-cloud sync` and `deepset-cloud delete-files` against the emulator."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from deepset_cloud import cli
from deepset_cloud.emulator import ThreadedEmulator

from ._helpers import COMMAND, clean_env, credentials, run


@pytest.fixture(autouse=True)
def _private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEEPSET_CLOUD_CACHE_DIR", str(tmp_path / "cache"))


def _corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    for index in range(3):
        (corpus / f"doc-{index}.txt").write_text(f"document {index}", encoding="utf-8")
    return corpus


def _names(emulator: ThreadedEmulator, workspace: str, capsys: pytest.CaptureFixture[str]) -> list[str]:
    capsys.readouterr()  # earlier output
    assert cli.main(["list-files", "--json", *credentials(emulator, workspace)]) == 0
    return sorted(json.loads(line)["name"] for line in capsys.readouterr().out.splitlines())


def test_sync_dry_run_json_lists_the_plan_then_sync_applies_it(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path)
    options = credentials(deepset_emulator, deepset_workspace)
    assert cli.main(["sync", str(corpus), *options, "--dry-run", "--json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["dry_run"] is True
    assert plan["uploaded"] == 3
    assert sorted((item["action"], item["name"]) for item in plan["planned"]) == [
        ("upload", "doc-0.txt"),
        ("upload", "doc-1.txt"),
        ("upload", "doc-2.txt"),
    ]
    assert _names(deepset_emulator, deepset_workspace, capsys) == []

    assert cli.main(["sync", str(corpus), *options]) == 0
    assert "Uploaded 3 new, updated 0, deleted 0; 0 unchanged" in capsys.readouterr().out
    (corpus / "doc-2.txt").unlink()
    assert cli.main(["sync", str(corpus), *options, "--delete", "--max-delete", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert (report["deleted"], report["unchanged"], report["uploaded"]) == (1, 2, 0)
    assert _names(deepset_emulator, deepset_workspace, capsys) == ["doc-0.txt", "doc-1.txt"]


def test_sync_delete_guard_is_a_usage_error(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path)
    options = credentials(deepset_emulator, deepset_workspace)
    assert cli.main(["sync", str(corpus), *options]) == 0
    for path in corpus.iterdir():
        path.unlink()
    capsys.readouterr()
    assert cli.main(["sync", str(corpus), *options, "--delete"]) == 2
    assert "max_delete" in capsys.readouterr().err
    assert cli.main(["sync", str(corpus), *options, "--delete", "--max-delete", "100%"]) == 0
    assert _names(deepset_emulator, deepset_workspace, capsys) == []


def test_delete_files_dry_run_yes_and_refusal_without_a_terminal(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path)
    options = credentials(deepset_emulator, deepset_workspace)
    assert cli.main(["sync", str(corpus), *options]) == 0
    capsys.readouterr()

    assert cli.main(["delete-files", *options, "--name", "doc-0.txt", "--dry-run"]) == 0
    assert "Would delete 1 file(s)" in capsys.readouterr().out
    refused = run(["delete-files", *options, "--name", "doc-0.txt"], env=clean_env(tmp_path / "home"))
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert _names(deepset_emulator, deepset_workspace, capsys) == ["doc-0.txt", "doc-1.txt", "doc-2.txt"]

    assert cli.main(["delete-files", *options, "--name", "doc-0.txt", "--yes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert [item["name"] for item in report["deleted"]] == ["doc-0.txt"]
    assert _names(deepset_emulator, deepset_workspace, capsys) == ["doc-1.txt", "doc-2.txt"]


@pytest.mark.parametrize(("answer", "left"), [("n\n", 2), ("y\n", 1)])
def test_delete_files_asks_on_a_terminal(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    answer: str,
    left: int,
) -> None:
    corpus = _corpus(tmp_path)
    (corpus / "doc-2.txt").unlink()
    options = credentials(deepset_emulator, deepset_workspace)
    assert cli.main(["sync", str(corpus), *options]) == 0
    capsys.readouterr()
    controller, terminal = os.openpty()
    try:
        os.write(controller, answer.encode())
        done = subprocess.run(
            [*COMMAND, "delete-files", *options, "--name", "doc-1.txt"],
            stdin=terminal,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=clean_env(tmp_path / "home"),
        )
    finally:
        os.close(terminal)
        os.close(controller)
    assert done.returncode == 0, done.stderr
    assert "Delete 1 file(s)" in done.stdout + done.stderr
    assert len(_names(deepset_emulator, deepset_workspace, capsys)) == left
