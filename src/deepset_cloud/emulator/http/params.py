"""Parsing of query parameters and JSON bodies into values, answering 400 with a clear message."""

from __future__ import annotations

from collections.abc import Mapping

from deepset_cloud.emulator.http.errors import ApiError, raise_api_error

__all__ = ["WRITE_MODES", "bool_param", "int_param", "write_mode_param"]

WRITE_MODES = ("KEEP", "OVERWRITE", "FAIL")


def int_param(query: Mapping[str, str], name: str, *, default: int, minimum: int, maximum: int) -> int:
    """An integer query parameter within [minimum, maximum]."""
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise_api_error(400, f"Query parameter {name}={raw!r} is not an integer.")
    if not minimum <= value <= maximum:
        raise_api_error(400, f"Query parameter {name}={value} must be between {minimum} and {maximum}.")
    return value


def bool_param(query: Mapping[str, str], name: str) -> bool | None:
    """A boolean query parameter (`true`/`false`, any case, also 1/0); None when absent."""
    raw = query.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered in ("true", "1"):
        return True
    if lowered in ("false", "0"):
        return False
    raise ApiError(400, f"Query parameter {name}={raw!r} must be true or false.")


def write_mode_param(value: object) -> str:
    """A write mode (`KEEP`, `OVERWRITE` or `FAIL`)."""
    if not isinstance(value, str) or value.upper() not in WRITE_MODES:
        raise_api_error(400, f"write_mode must be one of {', '.join(WRITE_MODES)}, got {value!r}.")
    return value.upper()
