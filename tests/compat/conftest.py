"""Fixtures of the compatibility suite: an isolated runner of the official SDK per test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .sdk_runner import SdkRunner


@pytest.fixture
def sdk(deepset_emulator: Any, deepset_workspace: str, tmp_path: Path) -> SdkRunner:
    """Runs the official SDK in isolated child processes against the shared emulator, in a fresh workspace."""
    sandbox = tmp_path / "sdk-sandbox"
    sandbox.mkdir()
    return SdkRunner(
        api_url=deepset_emulator.api_url,
        api_key=deepset_emulator.api_key,
        workspace=deepset_workspace,
        sandbox=sandbox,
    )
