"""Fixtures for emulator tests: an aiohttp client and an `Api` bound to the shared emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from deepset_cloud.emulator import ThreadedEmulator

from .emulator_api import Api


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session on the test's loop."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession, deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> Api:
    """An `Api` for the shared emulator and a fresh workspace."""
    return Api(http, deepset_emulator, deepset_workspace)
