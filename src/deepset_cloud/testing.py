"""pytest plugin: fixtures that run a local deepset Cloud emulator for your tests.

Registered through the `pytest11` entry point, so the fixtures are available as soon as `deepset-cloud` is
installed (the emulator needs the `emulator` extra). Importing this module is cheap: the emulator and
aiohttp are only imported when a fixture is used.

- `deepset_emulator` (session): an emulator in a background thread on 127.0.0.1 with a temporary data dir.
  Attributes `api_url`, `api_key`, `admin_token`, `data_dir`; thread-safe helpers `set_faults(specs)`,
  `clear_faults()`, `stats()`, `configure(**knobs)`, `reset()`. It is shared by the whole session: faults
  and runtime settings stay until you clear or change them (or use `deepset_make_emulator`).
- `deepset_workspace` (function): a fresh, unique workspace name.
- `deepset_make_emulator` (function): `deepset_make_emulator(**EmulatorConfig_overrides)` starts another
  emulator (e.g. with special limits, a `clock=ManualClock()`, or on the same `data_dir` to test a
  restart); all are stopped at teardown.

Every fixture name starts with `deepset_`, and the plugin registers no autouse fixture, so it cannot
collide with or run in your own tests unless you ask for it.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator

__all__ = [
    "TEST_ADMIN_TOKEN",
    "TEST_API_KEY",
    "deepset_emulator",
    "deepset_make_emulator",
    "deepset_workspace",
]

TEST_API_KEY = "test-api-key"
TEST_ADMIN_TOKEN = "test-admin-token"  # noqa: S105 (a test fixture value)
_DEFAULTS: dict[str, Any] = {
    "api_keys": (TEST_API_KEY,),
    "admin_token": TEST_ADMIN_TOKEN,
    "ingest_delay_s": 0.01,
}


def _start(data_dir: Path, overrides: dict[str, Any]) -> ThreadedEmulator:
    from deepset_cloud.emulator import Emulator, EmulatorConfig

    settings = {**_DEFAULTS, "data_dir": data_dir, **overrides}
    host = settings.pop("host", "127.0.0.1")
    port = settings.pop("port", 0)
    clock = settings.pop("clock", None)
    return Emulator.start_in_thread(EmulatorConfig(**settings), host=host, port=port, clock=clock)


@pytest.fixture(scope="session")
def deepset_emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ThreadedEmulator]:
    """A deepset Cloud emulator shared by the whole test session (key `test-api-key`)."""
    emulator = _start(tmp_path_factory.mktemp("deepset-emulator"), {})
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def deepset_workspace() -> str:
    """A fresh workspace name (created on first use by the emulator)."""
    return f"test-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def deepset_make_emulator(tmp_path: Path) -> Iterator[Callable[..., ThreadedEmulator]]:
    """Factory: `deepset_make_emulator(**EmulatorConfig_overrides)` -> a started emulator, stopped at teardown.

    Besides the `EmulatorConfig` fields it takes `host`, `port` and `clock` (e.g. a `ManualClock`).
    """
    started: list[ThreadedEmulator] = []
    counter = itertools.count()

    def factory(**overrides: Any) -> ThreadedEmulator:
        overrides.setdefault("data_dir", tmp_path / f"emulator-{next(counter)}")
        emulator = _start(Path(overrides.pop("data_dir")), overrides)
        started.append(emulator)
        return emulator

    try:
        yield factory
    finally:
        for emulator in started:
            emulator.stop()
