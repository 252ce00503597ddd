"""`python -m deepset_cloud.emulator`: prints its API URL, serves, stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepset_cloud.emulator import EmulatorConfig
from deepset_cloud.emulator.cli import DEFAULT_ADMIN_TOKEN, DEFAULT_API_KEY, build_parser, config_from_args

_STARTUP_TIMEOUT_S = 30


def _spawn(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "deepset_cloud.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def _first_line(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], _STARTUP_TIMEOUT_S)
    assert ready, "the emulator printed nothing"
    return proc.stdout.readline().strip()


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    proc = _spawn(
        "--data-dir",
        str(tmp_path / "data"),
        "--api-key",
        "k1",
        "--api-key",
        "k2",
        "--fault",
        "route=list_files,status=503,retry_after=1,count=1",
    )
    try:
        yield proc, _first_line(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _get(url: str, key: str) -> tuple[int, dict[str, object]]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_prints_url_serves_and_stops_cleanly(
    running: tuple[subprocess.Popen[str], str], signum: signal.Signals, tmp_path: Path
) -> None:
    proc, url = running
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/api/v1")
    files = f"{url}/workspaces/cli/files"
    status, body = _get(files, "k1")
    assert status == 503  # the --fault, once
    assert "injected" in str(body["errors"])
    assert _get(files, "k2") == (200, {"total": 0, "has_more": False, "data": []})
    assert _get(files, "wrong")[0] == 401
    proc.send_signal(signum)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out == ""  # nothing after the one URL line
    assert "k1" not in err  # keys given on the command line are never printed
    assert (tmp_path / "data" / "emulator.sqlite3").exists()


def test_invalid_fault_is_a_usage_error(tmp_path: Path) -> None:
    proc = _spawn("--data-dir", str(tmp_path), "--fault", "route=nowhere,status=500")
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2
    assert out == ""
    assert "invalid --fault" in err


def test_port_in_use_fails_with_a_message(tmp_path: Path) -> None:
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "deepset_cloud.emulator",
                "--port",
                str(port),
                "--data-dir",
                str(tmp_path),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 1
    assert out == ""
    assert f"cannot listen on 127.0.0.1:{port}" in err


def test_defaults_make_a_bare_invocation_useful() -> None:
    args = build_parser().parse_args([])
    config = config_from_args(args)
    assert (args.host, args.port) == ("127.0.0.1", 8080)
    assert config.data_dir == Path("emulator-data")
    assert config.api_keys == (DEFAULT_API_KEY,)
    assert config.session_ttl_s == 86_400
    # One admin-token default: the command line and EmulatorConfig agree.
    assert config.admin_token == DEFAULT_ADMIN_TOKEN == EmulatorConfig(data_dir=Path(".")).admin_token
    assert config.faults == ()


def test_every_config_knob_has_an_option() -> None:
    args = build_parser().parse_args(
        [
            "--ingest-delay-s",
            "0.5",
            "--session-ttl-s",
            "60",
            "--max-open-sessions",
            "3",
            "--max-files-per-session",
            "100",
            "--max-direct-upload-bytes",
            "1000",
            "--max-object-bytes",
            "2000",
            "--timestamp-style",
            "+00:00",
            "--no-auto-create-workspaces",
            "--open-session-scope",
            "account",
            "--search-index-lag-s",
            "2",
            "--seed",
            "9",
            "--admin-token",
            "adm",
            "--fault",
            "route=s3_post,rate=0.1,status=503",
        ]
    )
    config = config_from_args(args)
    assert (config.ingest_delay_s, config.session_ttl_s, config.max_open_sessions) == (0.5, 60, 3)
    assert (config.max_files_per_session, config.max_direct_upload_bytes, config.max_object_bytes) == (
        100,
        1000,
        2000,
    )
    assert (config.timestamp_style, config.auto_create_workspaces, config.seed) == ("+00:00", False, 9)
    assert (config.admin_token, config.search_index_lag_s) == ("adm", 2.0)
    assert config.open_session_scope == "account"
    assert [(f.route, f.rate, f.status) for f in config.faults] == [("s3_post", 0.1, 503)]


def test_stops_cleanly_with_a_request_in_flight(tmp_path: Path) -> None:
    """SIGTERM while a (slowed) request is being served: exit 0, no task destroyed while pending."""
    proc = _spawn("--data-dir", str(tmp_path / "data"), "--fault", "route=list_files,latency_s=30")
    try:
        url = _first_line(proc)
        request = urllib.request.Request(
            f"{url}/workspaces/cli/files", headers={"Authorization": f"Bearer {DEFAULT_API_KEY}"}
        )
        outcome: list[BaseException | int] = []

        def slow_request() -> None:
            try:
                with urllib.request.urlopen(request, timeout=60) as response:
                    outcome.append(response.status)
            except (urllib.error.URLError, ConnectionError) as exc:
                outcome.append(exc)

        client = threading.Thread(target=slow_request)
        client.start()
        admin = urllib.request.Request(
            url.replace("/api/v1", "/_emulator/stats"),
            headers={"Authorization": f"Bearer {DEFAULT_ADMIN_TOKEN}"},
        )
        # Wait until the server has counted the slowed request, i.e. it is in flight.
        for _ in range(200):
            with urllib.request.urlopen(admin, timeout=10) as response:
                if "list_files" in response.read().decode():
                    break
            client.join(0.05)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
        client.join(timeout=30)
        assert proc.returncode == 0
        assert "Task was destroyed" not in stderr
        assert outcome, "the in-flight request neither finished nor failed"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
