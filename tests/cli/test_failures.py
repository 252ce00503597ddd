"""Usage errors, configuration errors, --debug, broken pipes and Ctrl-C: one line and the right exit code."""

from __future__ import annotations

import json
import signal
import subprocess
from pathlib import Path

import pytest

from deepset_cloud import cli
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.models import DeepsetCloudFile
from deepset_cloud.sync_client import files
from tests.support import wait_until

from ._helpers import COMMAND, clean_env, credentials, run


def test_a_session_id_that_is_not_a_uuid_is_a_usage_error(tmp_path: Path) -> None:
    result = run(["get-upload-session", "not-a-uuid", "--api-key", "k"], env=clean_env(tmp_path))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "SESSION_ID: not an upload session id" in result.stderr
    assert result.stderr.startswith("usage: deepset-cloud get-upload-session")


def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (
        ["list-files", "--batch-size", "0"],
        ["upload", "x", "--write-mode", "MERGE"],
        ["list-files", "--timeout-s", "soon"],
    ):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(args)
        assert exit_info.value.code == 2
        assert "error: argument" in capsys.readouterr().err


def test_a_missing_api_key_is_a_configuration_error(tmp_path: Path) -> None:
    result = run(["list-files", "--workspace-name", "ws"], env=clean_env(tmp_path), cwd=tmp_path)
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: No deepset Cloud API key")


def test_a_wrong_key_is_one_line_without_the_key_and_debug_shows_the_traceback(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    secret = "wrong-key-0123456789"
    args = [
        "list-files",
        "--api-key",
        secret,
        "--api-url",
        deepset_emulator.api_url,
        "--workspace-name",
        deepset_workspace,
    ]
    result = run(args, env=clean_env(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ")
    assert "API key" in line
    assert secret not in result.stderr + result.stdout

    debug = run([*args, "--debug"], env=clean_env(tmp_path))
    assert debug.returncode == 1
    assert "Traceback (most recent call last)" in debug.stderr
    assert "AuthenticationError" in debug.stderr
    assert secret not in debug.stderr + debug.stdout


def test_an_api_url_that_is_not_the_api_is_a_configuration_error(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    wrong_url = deepset_emulator.api_url.removesuffix("/api/v1")
    args = [
        "list-files",
        "--api-key",
        deepset_emulator.api_key,
        "--api-url",
        wrong_url,
        "--workspace-name",
        deepset_workspace,
    ]
    result = run(args, env=clean_env(tmp_path))
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert "404" in line


def test_listing_into_a_pipe_that_closes_early_ends_quietly(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    # 40 files with 4 KiB of meta each print more than a pipe buffer holds, so the listing is still
    # writing when the reader goes away (as `deepset-cloud list-files | head -1` does).
    big_meta = {"notes": "x" * 4096}
    files.upload_texts(
        files=[
            DeepsetCloudFile(text=f"text {index}", name=f"f{index}.txt", meta=big_meta) for index in range(40)
        ],
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=deepset_workspace,
        show_progress=False,
    )
    for extra in ([], ["--json"]):
        with subprocess.Popen(
            [
                *COMMAND,
                "list-files",
                "--batch-size",
                "5",
                *extra,
                *credentials(deepset_emulator, deepset_workspace),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(tmp_path),
        ) as process:
            assert process.stdout is not None
            assert process.stderr is not None
            assert process.stdout.readline()
            process.stdout.close()
            stderr = process.stderr.read().decode()
            assert process.wait(timeout=60) == 0
        assert stderr == ""


def test_ctrl_c_during_an_upload_exits_130_with_a_summary(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for index in range(300):
        (corpus / f"doc-{index:03d}.txt").write_text(f"document {index}", encoding="utf-8")
    deepset_emulator.set_faults([{"route": "s3_post", "rate": 1.0, "latency_s": 0.2}])
    before = deepset_emulator.stats()["s3_objects_received"]
    with subprocess.Popen(
        [*COMMAND, "upload", str(corpus), "--json", *credentials(deepset_emulator, deepset_workspace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(tmp_path),
    ) as process:
        wait_until(
            lambda: (
                process.poll() is not None or deepset_emulator.stats()["s3_objects_received"] >= before + 5
            ),
            timeout_s=60,
            what="the first storage posts",
        )
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in stderr
    (line,) = [line for line in stderr.splitlines() if line.startswith("interrupted")]
    assert "upload interrupted" in line
    partial = json.loads(stdout)  # what was uploaded before Ctrl-C
    assert partial["interrupted"] is True
    # The emulator may hold posts whose answers (delayed 0.2 s) had not arrived at Ctrl-C: the report counts
    # only answered ones, so it may be lower than what was received, never higher.
    received = deepset_emulator.stats()["s3_objects_received"] - before
    assert 0 <= partial["successful_upload_count"] <= min(received, 299)
    assert len(partial["session_ids"]) == 1
    assert f"Uploaded {partial['successful_upload_count']} of " in line


def test_an_unexpected_error_is_one_line_that_points_at_debug(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepset_cloud.cli import _sessions

    def broken(args: object) -> int:
        raise ValueError("a bug")

    monkeypatch.setattr(_sessions, "_get_upload_session", broken)
    args = ["get-upload-session", "5c9e7a5e-0f59-4c8e-9a37-1b1f0f0c6d2e"]
    assert cli.main(args) == 1
    (line,) = capsys.readouterr().err.splitlines()
    assert line == "error: unexpected ValueError: a bug (run with --debug for the traceback)"
    with pytest.raises(ValueError, match="a bug"):
        cli.main([*args, "--debug"])
