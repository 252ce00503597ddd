"""The admin API under `/_emulator/` (its own Bearer token): stats, faults, config, reset."""

from __future__ import annotations

import json
from typing import Any

import attrs
from aiohttp import web

from deepset_cloud.emulator.config import EmulatorConfig, evolve_config, fault_specs
from deepset_cloud.emulator.faults import FaultSpec
from deepset_cloud.emulator.http.errors import raise_api_error
from deepset_cloud.emulator.state import STATE, EmulatorState, Stats

__all__ = [
    "clear_faults",
    "config_as_dict",
    "fault_specs_from_json",
    "get_config",
    "get_faults",
    "get_stats",
    "patch_config",
    "reset",
    "reset_state",
    "set_faults",
]


def config_as_dict(config: EmulatorConfig) -> dict[str, Any]:
    """The config as JSON-ready data, without secrets (API keys are counted, not shown)."""
    data = attrs.asdict(config, recurse=False)
    data["data_dir"] = str(config.data_dir)
    data["api_keys"] = f"<{len(config.api_keys)} key(s)>"
    data.pop("admin_token")
    data["faults"] = [spec.to_dict() for spec in config.faults]
    return data


def fault_specs_from_json(items: object) -> list[FaultSpec]:
    """Fault specs from JSON: a list of objects (FaultSpec fields) or CLI strings (`route=...,rate=...`).

    Raises:
        ValueError: An item is not a valid fault spec; the message says which and why.
    """
    if isinstance(items, dict) and "faults" in items:
        items = items["faults"]
    if not isinstance(items, list):
        raise ValueError("expected a JSON list of fault specs (objects or 'route=...,status=...' strings)")
    specs: list[FaultSpec] = []
    for index, item in enumerate(items):
        if not isinstance(item, (FaultSpec, str, dict)):
            raise ValueError(f"fault spec #{index} is invalid: expected an object or a string")
        try:
            specs += fault_specs([item])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"fault spec #{index} is invalid: {exc}") from exc
    return specs


async def _json_body(request: web.Request) -> Any:
    try:
        return json.loads(await request.read())
    except ValueError as exc:
        raise_api_error(400, f"The request body is not valid JSON: {exc}")


async def get_stats(request: web.Request) -> web.Response:
    """`GET /_emulator/stats`."""
    state = request.app[STATE]
    return web.json_response(state.stats.as_dict(state.store, state.faults))


async def get_faults(request: web.Request) -> web.Response:
    """`GET /_emulator/faults`: the active fault specs."""
    state = request.app[STATE]
    return web.json_response({"faults": [spec.to_dict() for spec in state.faults.specs]})


async def set_faults(request: web.Request) -> web.Response:
    """`POST /_emulator/faults`: replace the active fault specs (counters restart)."""
    state = request.app[STATE]
    try:
        specs = fault_specs_from_json(await _json_body(request))
    except ValueError as exc:
        raise_api_error(400, str(exc))
    state.faults.set(specs)
    return web.json_response({"faults": [spec.to_dict() for spec in state.faults.specs]})


async def clear_faults(request: web.Request) -> web.Response:
    """`DELETE /_emulator/faults`."""
    request.app[STATE].faults.clear()
    return web.Response(status=204)


async def get_config(request: web.Request) -> web.Response:
    """`GET /_emulator/config`."""
    return web.json_response(config_as_dict(request.app[STATE].config))


async def patch_config(request: web.Request) -> web.Response:
    """`PATCH /_emulator/config` with a JSON object of runtime knobs."""
    state = request.app[STATE]
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise_api_error(400, "The body must be a JSON object of knobs to change.")
    try:
        state.config = evolve_config(state.config, body)
    except ValueError as exc:
        raise_api_error(400, str(exc))
    return web.json_response(config_as_dict(state.config))


def reset_state(state: EmulatorState) -> None:
    """Forget every workspace, file, session, fault and counter."""
    state.ingestor.cancel_all()
    state.store.reset()
    state.faults.clear()
    state.stats = Stats()


async def reset(request: web.Request) -> web.Response:
    """`POST /_emulator/reset`."""
    reset_state(request.app[STATE])
    return web.Response(status=204)
