"""The `deepset-cloud` command and the quickstart demo, end to end against the emulator."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from deepset_cloud import cli, demo
from deepset_cloud.emulator import ThreadedEmulator


def test_demo_uploads_its_corpus_and_summarises(capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--files", "60", "--no-progress", "--workspace", "demo-test"]) == 0
    out = capsys.readouterr().out
    assert "Uploaded 90 of 90 objects (0 failed, 0 skipped)" in out  # 60 documents + 30 sidecars
    assert "Ingested: 60 finished, 0 failed." in out
    assert "OData filter: 15" in out  # every 4th document is 'news', and only even ones carry a sidecar


def _credentials(emulator: ThreadedEmulator, workspace: str) -> list[str]:
    return ["--api-key", emulator.api_key, "--api-url", emulator.api_url, "--workspace-name", workspace]


def test_cli_uploads_lists_and_downloads(
    deepset_emulator: ThreadedEmulator, workspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text("alpha", encoding="utf-8")
    (corpus / "a.txt.meta.json").write_text(json.dumps({"category": "news"}), encoding="utf-8")
    (corpus / "b.md").write_text("beta", encoding="utf-8")
    (corpus / "ignored.exe").write_bytes(b"MZ")
    credentials = _credentials(deepset_emulator, workspace)

    assert cli.main(["upload", str(corpus), "--no-show-progress", *credentials]) == 0
    assert "(0 failed, 1 skipped)" in capsys.readouterr().out

    assert cli.main(["list-files", "--odata-filter", "category eq 'news'", *credentials]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[-1] for line in listed] == ["a.txt"]

    target = tmp_path / "download"
    assert cli.main(["download", "--file-dir", str(target), "--no-show-progress", *credentials]) == 0
    assert sorted(path.name for path in target.iterdir()) == [
        "a.txt",
        "a.txt.meta.json",
        "b.md",
        "b.md.meta.json",
    ]
    assert json.loads((target / "a.txt.meta.json").read_text(encoding="utf-8")) == {"category": "news"}


def test_cli_reports_a_wrong_key_without_echoing_it(
    deepset_emulator: ThreadedEmulator, workspace: str, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = "wrong-key-0123456789"
    args = [
        "list-files",
        "--api-key",
        secret,
        "--api-url",
        deepset_emulator.api_url,
        "--workspace-name",
        workspace,
    ]
    assert cli.main(args) == 2
    captured = capsys.readouterr()
    assert "error:" in captured.err
    assert "401" in captured.err or "API key" in captured.err
    assert secret not in captured.err + captured.out


def test_console_entry_point_runs_the_emulator_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "deepset_cloud.cli", "emulator", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "--data-dir" in result.stdout
    assert "--api-key" in result.stdout


def test_login_writes_a_private_settings_file_that_the_sdk_reads_and_logout_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepset_cloud._config import resolve_settings

    for name in ("API_KEY", "API_URL", "DEFAULT_WORKSPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    args = [
        "login",
        "--api-key",
        "api_login_key",
        "--api-url",
        "http://127.0.0.1:9/api/v1",
        "--workspace-name",
        "ws",
    ]
    assert cli.main(args) == 0
    settings_file = tmp_path / "home" / ".deepset-cloud" / ".env"
    assert settings_file.stat().st_mode & 0o777 == 0o600
    assert "api_login_key" not in capsys.readouterr().out
    settings = resolve_settings()
    assert (settings.api_key, settings.api_url, settings.workspace_name) == (
        "api_login_key",
        "http://127.0.0.1:9/api/v1",
        "ws",
    )
    assert cli.main(["logout"]) == 0
    assert not settings_file.exists()


def test_cli_shows_upload_sessions_after_a_session_upload(
    deepset_emulator: ThreadedEmulator, workspace: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for index in range(25):
        (tmp_path / f"doc-{index}.txt").write_text(f"document {index}", encoding="utf-8")
    credentials = _credentials(deepset_emulator, workspace)
    assert cli.main(["upload", str(tmp_path), "--no-show-progress", *credentials]) == 0
    assert "Upload sessions: 1." in capsys.readouterr().out

    assert cli.main(["list-upload-sessions", *credentials]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    session_id, status, write_mode = line.split()[:3]
    assert (status, write_mode) == ("CLOSED", "KEEP")

    assert cli.main(["get-upload-session", session_id, *credentials]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["session_id"] == session_id
    assert shown["ingestion_status"] == {"failed_files": 0, "finished_files": 25}
