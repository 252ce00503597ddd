"""The one cattrs Converter that turns API responses into models (and models into request bodies).

Production is lenient so that a newer server cannot break deployed clients: unknown keys are ignored
and an unknown enum value becomes the enum's `UNKNOWN` member, or stays a plain `str` where the model
declares `SomeEnum | str`. Strict mode, used by the test suite against the emulator, forbids both, so
schema drift fails CI.
"""

from __future__ import annotations

import enum
import logging
import re
import types
import typing
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, TypeVar
from uuid import UUID

import cattrs
from cattrs.errors import BaseValidationError, ForbiddenExtraKeysError
from cattrs.gen import make_dict_structure_fn

from deepset_cloud import models
from deepset_cloud.errors import ResponseValidationError

__all__ = [
    "format_datetime",
    "make_converter",
    "parse_datetime",
    "set_strict_responses",
    "strict_responses",
    "structure_response",
    "unstructure",
]

T = TypeVar("T")

logger = logging.getLogger("deepset_cloud")

# ISO 8601 date-time with any number of fractional digits and an optional Z / ±HH:MM / ±HHMM offset.
_DATETIME = re.compile(
    r"^(?P<main>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)"
    r"(?:[.,](?P<fraction>\d+))?"
    r"(?P<offset>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)


def parse_datetime(value: str) -> datetime:
    """Parse an ISO 8601 timestamp into a UTC-aware datetime.

    Accepts `Z`, `+00:00`-style offsets and naive values (taken as UTC), and any number of fractional
    digits (rounded down to microseconds), on every supported Python version.

    Raises:
        ValueError: the value is not an ISO 8601 date-time.
    """
    match = _DATETIME.match(value.strip())
    if match is None:
        raise ValueError(f"not an ISO 8601 date-time: {value!r}")
    text = match["main"].replace(" ", "T")
    fraction = match["fraction"]
    if fraction:
        text += "." + (fraction + "000000")[:6]
    offset = match["offset"]
    if offset in (None, "Z", "z"):
        offset = "+00:00"
    elif len(offset) == 3:
        offset += ":00"
    elif ":" not in offset:
        offset = f"{offset[:3]}:{offset[3:]}"
    return datetime.fromisoformat(text + offset).astimezone(timezone.utc)


def format_datetime(value: datetime) -> str:
    """Format a datetime as the API does: UTC, microseconds, `Z` (naive values are taken as UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def _structure_datetime(value: Any, _: type) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    if not isinstance(value, str):
        raise TypeError(f"expected an ISO 8601 string, got {type(value).__name__}")
    return parse_datetime(value)


def _structure_uuid(value: Any, _: type) -> UUID:
    if isinstance(value, UUID):
        return value
    if not isinstance(value, str):
        raise TypeError(f"expected a UUID string, got {type(value).__name__}")
    return UUID(value)


def _structure_str(value: Any, _: type) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {type(value).__name__}")
    return value


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {type(value).__name__}")
    return value


def _structure_bool(value: Any, _: type) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {type(value).__name__}")
    return value


def _is_enum(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, enum.Enum)


def _enum_or_str_member(cls: Any) -> type[enum.Enum] | None:
    """The enum of an `SomeEnum | str` annotation (a value the SDK does not know stays a plain str)."""
    args = typing.get_args(cls)
    if typing.get_origin(cls) not in (typing.Union, types.UnionType) or len(args) != 2 or str not in args:
        return None
    other = args[0] if args[1] is str else args[1]
    return other if _is_enum(other) else None


def _enum_hook_factory(strict: bool) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """Structure hooks for enums: an unknown value becomes the enum's `UNKNOWN` member, else an error."""

    def factory(cls: type[enum.Enum]) -> Callable[[Any, Any], Any]:
        unknown = None if strict else cls.__members__.get("UNKNOWN")

        def structure(value: Any, _: Any) -> enum.Enum:
            try:
                return cls(value)
            except ValueError:
                if unknown is None:
                    raise
            logger.debug("unknown %s value %r from the server", cls.__name__, value)
            return unknown

        return structure

    return factory


def _enum_or_str_hook_factory(strict: bool) -> Callable[[Any], Callable[[Any, Any], Any]]:
    """Structure hooks for `SomeEnum | str`: a known value becomes the member, another one stays a str."""

    def factory(union: Any) -> Callable[[Any, Any], Any]:
        cls = _enum_or_str_member(union)
        assert cls is not None

        def structure(value: Any, _: Any) -> enum.Enum | str:
            try:
                return cls(value)
            except ValueError:
                if strict or not isinstance(value, str):
                    raise
            logger.debug("unknown %s value %r from the server", cls.__name__, value)
            return value

        return structure

    return factory


# Keys the API sends that the SDK deliberately does not model; strict mode accepts these and no others.
_KNOWN_IGNORED_KEYS: dict[type, frozenset[str]] = {
    models.File: frozenset({"characters", "languages"}),
}


def _ignoring_known_keys(converter: cattrs.Converter, cls: type, keys: frozenset[str]) -> Any:
    structure: Callable[[Any, Any], Any] = make_dict_structure_fn(
        cls, converter, _cattrs_forbid_extra_keys=True
    )

    def hook(value: Any, _: type) -> Any:
        if isinstance(value, dict) and not keys.isdisjoint(value):
            value = {key: item for key, item in value.items() if key not in keys}
        return structure(value, cls)

    return hook


def _model_enums() -> list[type[enum.Enum]]:
    return [
        value for value in vars(models).values() if _is_enum(value) and value.__module__ == models.__name__
    ]


def _enum_value(member: enum.Enum) -> Any:
    return member.value


def make_converter(strict: bool = False) -> cattrs.Converter:
    """Build the SDK's converter.

    Args:
        strict: forbid unknown keys and unknown enum values (for tests); production ignores unknown keys
            and maps unknown enum values to `UNKNOWN` or a stand-in member.

    Returns:
        A new, private `cattrs.Converter`.
    """
    converter = cattrs.Converter(forbid_extra_keys=strict, detailed_validation=True)
    converter.register_structure_hook(datetime, _structure_datetime)
    converter.register_unstructure_hook(datetime, format_datetime)
    converter.register_structure_hook(UUID, _structure_uuid)
    converter.register_unstructure_hook(UUID, str)
    converter.register_structure_hook(str, _structure_str)
    converter.register_structure_hook(int, _structure_int)
    converter.register_structure_hook(bool, _structure_bool)
    # cattrs consults class (singledispatch) hooks before predicate factories, and a str enum's MRO finds
    # the `str` hook before `Enum`'s: so the factory's hook is registered for each model enum by class.
    enum_hook_for = _enum_hook_factory(strict)
    for enum_class in _model_enums():
        converter.register_structure_hook(enum_class, enum_hook_for(enum_class))
    converter.register_structure_hook_factory(
        lambda cls: _enum_or_str_member(cls) is not None, _enum_or_str_hook_factory(strict)
    )
    converter.register_unstructure_hook_func(_is_enum, _enum_value)
    if strict:
        for cls, keys in _KNOWN_IGNORED_KEYS.items():
            converter.register_structure_hook(cls, _ignoring_known_keys(converter, cls, keys))
    return converter


_converters = {False: make_converter(), True: make_converter(strict=True)}
_strict_by_default = False


def set_strict_responses(strict: bool) -> bool:
    """Structure every response strictly (or leniently) from now on; returns the previous setting.

    The test suite turns this on so that any drift between the emulator and the models fails a test.
    """
    global _strict_by_default
    previous, _strict_by_default = _strict_by_default, strict
    return previous


def strict_responses() -> bool:
    """Whether responses are structured strictly (see `set_strict_responses`)."""
    return _strict_by_default


def structure_response(data: Any, cls: type[T], *, strict: bool | None = None) -> T:
    """Structure a decoded JSON response into `cls` (strictly if `strict`, default: `set_strict_responses`).

    Raises:
        ResponseValidationError: the data does not fit `cls`; the message lists every problem with its path.
    """
    try:
        return _converters[_strict_by_default if strict is None else strict].structure(data, cls)
    except (BaseValidationError, ForbiddenExtraKeysError) as exc:
        problems = "; ".join(cattrs.transform_error(exc, path="response"))
        raise ResponseValidationError(
            f"The server's response does not have the expected {_type_name(cls)} shape: {problems}"
        ) from exc
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        raise ResponseValidationError(
            f"The server's response does not have the expected {_type_name(cls)} shape: {exc}"
        ) from exc


def unstructure(value: Any) -> Any:
    """Unstructure a model into JSON-ready data (datetimes as `...Z`, UUIDs as strings)."""
    return _converters[False].unstructure(value)


def _type_name(cls: Any) -> str:
    return getattr(cls, "__name__", None) or str(cls)
