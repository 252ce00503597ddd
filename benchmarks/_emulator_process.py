"""A server subprocess for the benchmarks: the emulator, or any command that prints its URL first.

`server_process(command, log)` starts the command from the repository root (so `-m benchmarks...` and
`-m deepset_cloud.emulator` import the same code whatever the caller's directory is), waits for the URL
on the first stdout line, yields it with the process id and stops the process with SIGTERM afterwards
(SIGKILL if it does not exit within 15 s). `emulator_command` builds the emulator's command line.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Collection, Iterator, Sequence
from pathlib import Path

import attrs

__all__ = ["REPO_ROOT", "ServerProcess", "emulator_command", "server_process"]

REPO_ROOT = Path(__file__).resolve().parent.parent
_STOP_TIMEOUT_S = 15.0
_FAILED_START_TIMEOUT_S = 10.0


@attrs.frozen
class ServerProcess:
    """A started server: its process id and the URL it printed (for the emulator: its API URL)."""

    pid: int
    url: str


def emulator_command(
    data_dir: Path, api_key: str, *options: str, launcher: Sequence[str] = ("-m", "deepset_cloud.emulator")
) -> list[str]:
    """`python -m deepset_cloud.emulator --port 0 --data-dir DATA_DIR --api-key KEY OPTIONS...`.

    Args:
        data_dir: The emulator's data folder.
        api_key: The one API key it accepts.
        options: More command-line options of the emulator.
        launcher: What follows the interpreter instead of `-m deepset_cloud.emulator` (e.g. a profiler).
    """
    return [
        sys.executable,
        *launcher,
        "--port",
        "0",
        "--data-dir",
        str(data_dir),
        "--api-key",
        api_key,
        *options,
    ]


@contextlib.contextmanager
def server_process(
    command: Sequence[str], log: Path, *, cpus: Collection[int] | None = None
) -> Iterator[ServerProcess]:
    """Run `command` (which prints its URL as the first stdout line, stderr goes to `log`) until exit.

    `cpus` pins the process (and every thread it starts) to those cores.

    Raises:
        RuntimeError: The server exited or printed something else instead of a URL; the message holds
            the end of its log.
    """
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            list(command),
            stdout=subprocess.PIPE,
            stderr=log_file,
            cwd=REPO_ROOT,
            preexec_fn=None if cpus is None else lambda: os.sched_setaffinity(0, cpus),
        )
    try:
        assert process.stdout is not None
        url = process.stdout.readline().decode().strip()
        if not url.startswith("http"):
            with contextlib.suppress(subprocess.TimeoutExpired):  # let it finish writing its log
                process.wait(timeout=_FAILED_START_TIMEOUT_S)
            raise RuntimeError(f"server did not start: {log.read_text(errors='replace')[-2000:]}")
        yield ServerProcess(process.pid, url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=_STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
