"""`EmulatorConfig`: every knob of the emulator, frozen; runtime changes replace the whole record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from deepset_cloud.emulator.faults import FaultSpec, parse_fault_option
from deepset_cloud.emulator.timestamps import TimestampStyle

__all__ = [
    "DEFAULT_ADMIN_TOKEN",
    "DEFAULT_API_KEY",
    "RUNTIME_KNOBS",
    "EmulatorConfig",
    "OpenSessionScope",
    "evolve_config",
    "fault_specs",
]

DEFAULT_API_KEY = "local-dev-key"
DEFAULT_ADMIN_TOKEN = "local-admin-token"  # noqa: S105 (the one documented local default, not a secret)
OpenSessionScope = Literal["workspace", "account"]


def fault_specs(items: Iterable[FaultSpec | str | Mapping[str, Any]]) -> tuple[FaultSpec, ...]:
    """Fault specs from FaultSpec objects, CLI strings (`route=...,status=...`) or JSON-like dicts."""
    specs: list[FaultSpec] = []
    for item in items:
        if isinstance(item, str):
            specs.append(parse_fault_option(item))
        elif isinstance(item, Mapping):
            specs.append(FaultSpec.from_dict(item))
        else:
            specs.append(item)
    return tuple(specs)


def _str_tuple(items: Iterable[str]) -> tuple[str, ...]:
    values = tuple(items)
    for value in values:
        if not value or not isinstance(value, str):  # runtime check: JSON and CLI input is untyped
            raise ValueError(f"expected non-empty strings, got {value!r}")
    return values


def _secret_tuple_repr(value: tuple[str, ...]) -> str:
    return f"<{len(value)} key(s)>"


@attrs.frozen(kw_only=True)
class EmulatorConfig:
    """Configuration of a local deepset Cloud emulator.

    Attributes:
        data_dir: Folder for the SQLite database (WAL) and the blob folder; state survives restarts.
        api_keys: Bearer keys accepted by `/api/v1`.
        admin_token: Bearer token for the admin API under `/_emulator/`.
        ingest_delay_s: Delay between closing a session and the start of its background ingestion.
        session_ttl_s: Upload sessions expire this long after creation.
        max_open_sessions: Open (not closed, not expired) sessions allowed per workspace, or per account
            (API key) over all its workspaces; creating one more answers 409 Conflict.
        open_session_scope: What `max_open_sessions` counts: `"workspace"` (all keys' sessions in the
            workspace, as deepset documents) or `"account"` (one key's sessions in every workspace).
        max_files_per_session: Objects (files and sidecars) one session accepts.
        max_direct_upload_bytes: Size limit of one direct upload (`POST files`).
        max_object_bytes: Size limit of one object posted to the S3 endpoint.
        timestamp_style: `"Z"` (current API) or `"+00:00"` (older API); always 6 fractional digits.
        auto_create_workspaces: Create workspaces on first use; if false, unknown workspaces are 404.
        search_index_lag_s: Files show up in `filter`/`content` searches only this long after creation,
            like the real API's search index (plain listing and `name` see them at once).
        seed: Seed of the fault-injection random generator.
        faults: Faults active from the start: `FaultSpec` objects, CLI strings or dicts of their fields.
    """

    data_dir: Path = attrs.field(converter=Path)
    api_keys: tuple[str, ...] = attrs.field(
        default=(DEFAULT_API_KEY,), converter=_str_tuple, repr=_secret_tuple_repr
    )
    admin_token: str = attrs.field(default=DEFAULT_ADMIN_TOKEN, repr=False)
    ingest_delay_s: float = 0.05
    session_ttl_s: float = 86_400.0
    max_open_sessions: int = 10
    open_session_scope: OpenSessionScope = "workspace"
    max_files_per_session: int = 50_000
    max_direct_upload_bytes: int = 200 * 2**20
    max_object_bytes: int = 5 * 2**30
    timestamp_style: TimestampStyle = "Z"
    auto_create_workspaces: bool = True
    search_index_lag_s: float = 0.0
    seed: int = 0
    faults: tuple[FaultSpec, ...] = attrs.field(default=(), converter=fault_specs)

    def __attrs_post_init__(self) -> None:
        _validate(self)


RUNTIME_KNOBS: dict[str, type] = {
    "api_keys": list,
    "ingest_delay_s": float,
    "session_ttl_s": float,
    "max_open_sessions": int,
    "open_session_scope": str,
    "max_files_per_session": int,
    "max_direct_upload_bytes": int,
    "max_object_bytes": int,
    "timestamp_style": str,
    "auto_create_workspaces": bool,
    "search_index_lag_s": float,
}
"""Knobs that `PATCH /_emulator/config` and `configure()` may change while the emulator runs."""


def _validate(cfg: EmulatorConfig) -> None:
    if not cfg.api_keys:
        raise ValueError("api_keys must be a non-empty list of non-empty strings")
    if not cfg.admin_token:
        raise ValueError("admin_token must not be empty")
    if cfg.open_session_scope not in ("workspace", "account"):
        raise ValueError("open_session_scope must be 'workspace' or 'account'")
    if cfg.timestamp_style not in ("Z", "+00:00"):
        raise ValueError("timestamp_style must be 'Z' or '+00:00'")
    for name in ("ingest_delay_s", "session_ttl_s", "search_index_lag_s"):
        if getattr(cfg, name) < 0:
            raise ValueError(f"{name} must be >= 0")
    for name in ("max_open_sessions", "max_files_per_session", "max_direct_upload_bytes", "max_object_bytes"):
        if getattr(cfg, name) < 1:
            raise ValueError(f"{name} must be >= 1")


def evolve_config(cfg: EmulatorConfig, changes: dict[str, Any]) -> EmulatorConfig:
    """Return `cfg` with runtime `changes` applied, validating names and types.

    Raises:
        ValueError: An unknown or read-only knob, a value of the wrong type, or an invalid value.
    """
    clean: dict[str, Any] = {}
    for name, value in changes.items():
        kind = RUNTIME_KNOBS.get(name)
        if kind is None:
            raise ValueError(f"{name!r} cannot be changed at runtime; changeable: {sorted(RUNTIME_KNOBS)}")
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if kind is list and isinstance(value, (list, tuple)):
            value = tuple(value)
        elif not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ValueError(f"{name!r} must be of type {kind.__name__}, got {value!r}")
        clean[name] = value
    return attrs.evolve(cfg, **clean)
