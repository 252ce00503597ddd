"""Fixtures of the core tests: clients bound to the emulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from deepset_cloud import AsyncClient, RetryPolicy
from tests import support

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator


@pytest.fixture
def fast_retry() -> RetryPolicy:
    """A retry policy whose backoff waits are tiny (server Retry-After values are honoured)."""
    return support.fast_retry()


@pytest.fixture
async def client(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, fast_retry: RetryPolicy
) -> AsyncIterator[AsyncClient]:
    """An AsyncClient for the shared emulator with a fresh default workspace."""
    async with AsyncClient(
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=deepset_workspace,
        retry=fast_retry,
    ) as client:
        yield client
