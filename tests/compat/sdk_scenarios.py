"""Child-process driver of the official `deepset-cloud-sdk`, run by `sdk_runner.SdkRunner`.

Usage: `python -I sdk_scenarios.py REQUEST.json RESULT.json`. The request holds the connection
(`api_url`, `api_key`, `workspace`) and a list of steps; each step names one public function of the
official SDK (or, for session set-up only, its own `UploadSessionsAPI`) and its keyword arguments in
JSON form. The SDK is called exactly as a user would call it: nothing is patched or wrapped. Every
step's outcome (value or exception) is written to RESULT.json, because the SDK logs to stdout.

This file imports only the standard library and the official SDK, so it also runs outside the repo.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import inspect
import json
import os
import sys
import traceback
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import fields, is_dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import deepset_cloud_sdk._api.config as sdk_config
from deepset_cloud_sdk._api.config import CommonConfig
from deepset_cloud_sdk._api.deepset_cloud_api import DeepsetCloudAPI
from deepset_cloud_sdk._api.upload_sessions import UploadSessionsAPI, WriteMode
from deepset_cloud_sdk.models import DeepsetCloudFile, DeepsetCloudFileBytes
from deepset_cloud_sdk.workflows.async_client import files as async_files
from deepset_cloud_sdk.workflows.sync_client import files as sync_files

JsonDict = dict[str, Any]

_ENV_PROBE_PREFIXES = ("API_", "DEFAULT_WORKSPACE", "ASYNC_CLIENT", "DEEPSET")
_PROXY_KEYS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


def to_json(value: Any) -> Any:
    """Turn the SDK's return values (dataclasses, enums, UUIDs, datetimes, exceptions) into JSON data."""
    if isinstance(value, BaseException):
        return {"type": type(value).__name__, "module": type(value).__module__, "message": str(value)}
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_json(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    return value


def _in_memory_files(specs: list[JsonDict], kind: str) -> list[Any]:
    """Build `DeepsetCloudFile`/`DeepsetCloudFileBytes`; a spec without "meta" means `meta=None`."""
    built: list[Any] = []
    for spec in specs:
        meta = spec.get("meta")
        if kind == "texts":
            built.append(DeepsetCloudFile(text=spec["text"], name=spec["name"], meta=meta))
        else:
            content = base64.b64decode(spec["b64"])
            built.append(DeepsetCloudFileBytes(file_bytes=content, name=spec["name"], meta=meta))
    return built


def _sdk_kwargs(step: JsonDict, request: JsonDict) -> JsonDict:
    """The step's keyword arguments, converted to SDK types, with the connection filled in explicitly."""
    kwargs: JsonDict = dict(step.get("kwargs", {}))
    kwargs.setdefault("api_key", request["api_key"])
    kwargs.setdefault("api_url", request["api_url"])
    kwargs.setdefault("workspace_name", request["workspace"])
    if "write_mode" in kwargs:
        kwargs["write_mode"] = WriteMode(kwargs["write_mode"])
    if "paths" in kwargs:
        kwargs["paths"] = [Path(p) for p in kwargs["paths"]]
    if "session_id" in kwargs:
        kwargs["session_id"] = uuid.UUID(kwargs["session_id"])
    if step["op"] in ("upload_texts", "upload_bytes"):
        kwargs["files"] = _in_memory_files(kwargs["files"], step["op"].removeprefix("upload_"))
    return kwargs


async def _collect_pages(pages: AsyncIterator[Any]) -> list[Any]:
    return [page async for page in pages]


def _run_async(coro: Any) -> Any:
    # A user script of the official async SDK; its own docs drive it with asyncio.run.
    return asyncio.run(coro)  # noqa: TID251


def _public_call(step: JsonDict, request: JsonDict) -> Any:
    """Call one public workflow function of the official SDK (sync or async module)."""
    op, client = step["op"], step.get("client", "sync")
    kwargs = _sdk_kwargs(step, request)
    if client == "sync":
        function: Callable[..., Any] = getattr(sync_files, op)
        result = function(**kwargs)
        return list(result) if inspect.isgenerator(result) else result
    function = getattr(async_files, op)
    if inspect.isasyncgenfunction(function):
        return _run_async(_collect_pages(function(**kwargs)))
    return _run_async(function(**kwargs))


async def _session_api_call(step: JsonDict, request: JsonDict) -> Any:
    """Open or close a session with the SDK's own `UploadSessionsAPI` (its workflows always close)."""
    kwargs = step.get("kwargs", {})
    config = CommonConfig(api_key=kwargs.get("api_key", request["api_key"]), api_url=request["api_url"])
    async with DeepsetCloudAPI.factory(config) as api:
        sessions = UploadSessionsAPI(api)
        if step["op"] == "open_session":
            return await sessions.create(
                workspace_name=request["workspace"], write_mode=WriteMode(kwargs.get("write_mode", "KEEP"))
            )
        await sessions.close(workspace_name=request["workspace"], session_id=uuid.UUID(kwargs["session_id"]))
        return None


def _env_probe() -> JsonDict:
    """What the SDK sees of its environment: home, cwd, config values frozen at import, leaked vars."""
    return {
        "home": str(Path.home()),
        "cwd": os.getcwd(),
        "config_api_key": sdk_config.API_KEY,
        "config_api_url": sdk_config.API_URL,
        "config_default_workspace": sdk_config.DEFAULT_WORKSPACE_NAME,
        "config_async_client_timeout": sdk_config.ASYNC_CLIENT_TIMEOUT,
        "upload_default_workspace": inspect.signature(sync_files.upload).parameters["workspace_name"].default,
        "leaked_env": sorted(
            key for key in os.environ if key.startswith(_ENV_PROBE_PREFIXES) or key in _PROXY_KEYS
        ),
        "env_keys": sorted(os.environ),
    }


def run_step(step: JsonDict, request: JsonDict) -> Any:
    """Run one step and return its JSON-able value."""
    op = step["op"]
    if op == "env_probe":
        return _env_probe()
    if op in ("open_session", "close_session"):
        return to_json(_run_async(_session_api_call(step, request)))
    return to_json(_public_call(step, request))


def main(request_path: str, result_path: str) -> int:
    """Run every step in order; stop after the first exception that the step did not expect."""
    request: JsonDict = json.loads(Path(request_path).read_text(encoding="utf-8"))
    results: list[JsonDict] = []
    for step in request["steps"]:
        try:
            results.append({"op": step["op"], "ok": True, "value": run_step(step, request), "error": None})
        except Exception as error:  # every failure is reported to the parent test
            failure = to_json(error) | {"traceback": traceback.format_exc()}
            results.append({"op": step["op"], "ok": False, "value": None, "error": failure})
            if not step.get("expect_error", False):
                break
    Path(result_path).write_text(json.dumps(results, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
