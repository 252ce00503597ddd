"""Shared test configuration for the whole suite.

- anyio runs on asyncio only (aiohttp and backoff are asyncio-only);
- settings are isolated: no test reads the real environment, `./.env` or `~/.deepset-cloud/.env`;
- every response is structured strictly, so drift between the emulator and the models fails a test;
- faults set on the plugin's shared emulator end with the test that set them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deepset_cloud import _converter

_SETTING_KEYS = ("API_KEY", "API_URL", "DEFAULT_WORKSPACE_NAME")


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
