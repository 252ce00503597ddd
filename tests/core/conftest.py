"""Fixtures of the core tests: isolated settings, a strict converter, clients bound to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from deepset_cloud import AsyncClient, RetryPolicy, _converter

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator

_SETTING_KEYS = ("API_KEY", "API_URL", "DEFAULT_WORKSPACE_NAME")


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
def strict_responses(monkeypatch: pytest.MonkeyPatch) -> None:
    """Structure every response with the strict converter: unknown keys or enum values fail the test."""
    monkeypatch.setitem(_converter._converters, False, _converter.make_converter(strict=True))


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """A retry policy whose backoff waits are tiny (server Retry-After values are honoured)."""
    return RetryPolicy(max_tries=4, base_delay_s=0.001, max_delay_s=0.01, max_time_s=30)


@pytest.fixture
async def client(
    deepset_emulator: ThreadedEmulator, workspace: str, fast_retry: RetryPolicy
) -> AsyncIterator[AsyncClient]:
    """An AsyncClient for the shared emulator with a fresh default workspace."""
    async with AsyncClient(
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=workspace,
        retry=fast_retry,
    ) as client:
        yield client
