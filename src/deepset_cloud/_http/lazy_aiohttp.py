"""`aiohttp`, imported on the first use of one of its names rather than with the SDK.

`import aiohttp` takes ~0.17 s (most of it building its default TLS contexts); a script that only imports
the SDK, a CLI's `--help` or a test collection run would pay it for nothing. The modules of `_http` bind
this module as `aiohttp` (the real one under `TYPE_CHECKING`), so their code reads as usual; the first
name looked up imports aiohttp (on the first request) and copies that name here, so later lookups are
plain module attribute reads.
"""

from __future__ import annotations

import importlib
from typing import Any


def __getattr__(name: str) -> Any:
    value = getattr(importlib.import_module("aiohttp"), name)
    globals()[name] = value
    return value
