"""Shared test configuration for the whole suite.

- anyio runs on asyncio only (aiohttp and backoff are asyncio-only);
- settings are isolated: no test reads the real environment, `./.env` or `~/.deepset-cloud/.env`;
- every response is structured strictly, so drift between the emulator and the models fails a test;
- faults set on the plugin's shared emulator end with the test that set them;
- SIGINT reaches the suite's child processes even when the suite was started with it ignored.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from deepset_cloud import _converter

_SETTING_KEYS = ("API_KEY", "API_URL", "DEFAULT_WORKSPACE_NAME")


def pytest_configure(config: pytest.Config) -> None:
    """Un-ignore SIGINT: a shell runs a background job with SIGINT ignored, and its children inherit that.

    The Ctrl-C tests send SIGINT to child processes; with SIGINT ignored at exec, Python installs no
    KeyboardInterrupt handler and the child never notices. A handled signal is reset to its default at exec.
    """
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def anyio_backend() -> str:
    """Run anyio-marked tests on asyncio only."""
    return "asyncio"


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read the real environment, ./.env or ~/.deepset-cloud/.env: HOME and cwd are empty tmp dirs."""
    home = tmp_path_factory.mktemp("home")
    cwd = tmp_path_factory.mktemp("cwd")
    for key in _SETTING_KEYS:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("USERPROFILE", str(home))
    monkeypatch.chdir(cwd)
    return home


@pytest.fixture(autouse=True)
def strict_responses() -> Iterator[None]:
    """Structure every response with the strict converter: unknown keys or enum values fail the test."""
    previous = _converter.set_strict_responses(True)
    yield
    _converter.set_strict_responses(previous)


@pytest.fixture(autouse=True)
def clear_shared_emulator_faults(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each test that used the shared emulator, clear its faults (the plugin leaves them to its user)."""
    yield
    if "deepset_emulator" in request.fixturenames:
        emulator = request.getfixturevalue("deepset_emulator")
        if emulator.running:
            emulator.clear_faults()
