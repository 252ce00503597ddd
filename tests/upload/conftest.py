"""Fixtures of the upload tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from deepset_cloud.emulator import ThreadedEmulator

from ._harness import Harness, make_harness


@pytest.fixture
async def harness(deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> AsyncIterator[Harness]:
    """The pipeline against the shared emulator, in a fresh workspace."""
    built, transport = await make_harness(deepset_emulator, deepset_workspace)
    try:
        yield built
    finally:
        await transport.aclose()
