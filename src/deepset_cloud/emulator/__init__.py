"""Local emulator of the deepset Cloud API: files, upload sessions and an S3-style upload endpoint.

```python
from deepset_cloud.emulator import Emulator, EmulatorConfig

async with Emulator(EmulatorConfig(data_dir=tmp), port=0) as emu:
    ...  # point a client at emu.api_url with one of cfg.api_keys

emu = Emulator.start_in_thread(EmulatorConfig(data_dir=tmp))  # sync code; emu.stop() when done
```
Command line: `python -m deepset_cloud.emulator --port 8080 --data-dir DIR --api-key KEY`.

Layers: `http` (routes, middleware, handlers that parse and answer) -> `storage` (`store`: the only SQL;
`blobs`) ; `s3` (presigned-POST endpoint, policy, multipart parser); `odata` (filter -> SQL); `ingest`
(closed sessions -> files); `faults`, `config`, `clock` (injectable time); `server` (the aiohttp runner,
and `ThreadedEmulator` on an anyio blocking portal); `cli`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from deepset_cloud.emulator.cli import main
    from deepset_cloud.emulator.clock import Clock, ManualClock, SystemClock
    from deepset_cloud.emulator.config import EmulatorConfig
    from deepset_cloud.emulator.server import Emulator, ThreadedEmulator

__all__ = ["Clock", "Emulator", "EmulatorConfig", "ManualClock", "SystemClock", "ThreadedEmulator", "main"]

MISSING_EXTRA = "the local emulator needs the `emulator` extra: pip install 'deepset-cloud[emulator]'"
_MODULES = {"main": "cli", "Clock": "clock", "ManualClock": "clock", "SystemClock": "clock"}
_MODULES |= {"EmulatorConfig": "config", "Emulator": "server", "ThreadedEmulator": "server"}


def __getattr__(name: str) -> object:
    # Imported on first use, so that without the extra `python -m deepset_cloud.emulator` and every import
    # of these names end with one line naming it (ModuleNotFoundError.name stays "odata_query").
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f"{__name__}.{_MODULES[name]}")
    except ModuleNotFoundError as error:
        if error.name != "odata_query":
            raise
        raise ModuleNotFoundError(MISSING_EXTRA, name=error.name) from None
    value = getattr(module, name)
    globals()[name] = value
    return value
