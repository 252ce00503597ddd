"""Helpers to run a small Python program in a fresh interpreter and look at what it printed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Sequence

import attrs

DEADLINE_S = 60.0  # a generous bound: a process that needs it has hung
# Python 3.12+ warns on every fork of a process with threads; the fork tests do that on purpose.
FORK_OK = ("always", "ignore:This process:DeprecationWarning")


@attrs.frozen
class Finished:
    returncode: int
    stdout: list[str]
    stderr: str


def run_script(
    code: str,
    *args: str,
    interrupt_after: str | None = None,
    interrupt_when: Callable[[], bool] | None = None,
    warnings: Sequence[str] = ("always",),
) -> Finished:
    """Run `code` with `python -W <filter>... -c code args...` and wait for it to end.

    With `interrupt_after`, send SIGINT once the program printed that line; with `interrupt_when`,
    send it once that condition (polled) holds.
    """
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    process = subprocess.Popen(
        [sys.executable, *(f"-W{spec}" for spec in warnings), "-c", textwrap.dedent(code), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    lines: list[str] = []
    try:
        if interrupt_after is not None:
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line.rstrip("\n"))
                if lines[-1] == interrupt_after:
                    process.send_signal(signal.SIGINT)
                    break
        if interrupt_when is not None:
            deadline = time.monotonic() + DEADLINE_S
            while not interrupt_when():
                assert process.poll() is None, f"the process ended early: {process.communicate()}"
                assert time.monotonic() < deadline, "the condition to interrupt never held"
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
        stdout, stderr = process.communicate(timeout=DEADLINE_S)
    except (subprocess.TimeoutExpired, AssertionError) as exc:
        process.kill()
        stdout, stderr = process.communicate()
        raise AssertionError(f"{exc}; stdout={lines + stdout.splitlines()}, stderr={stderr}") from None
    return Finished(process.returncode, lines + stdout.splitlines(), stderr)
