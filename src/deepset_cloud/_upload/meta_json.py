"""Metadata as JSON text: exactly `json.dumps(value)`, without rebuilding the encoder per call.

`json.dumps` builds a fresh C encoder (and a closure) on every call, which costs more than encoding a
small metadata dict; an upload of texts encodes one per text, twice (checked before any request, posted
later). The encoder here is built once, with the settings `json.dumps` uses by default, and checked
against `json.dumps` at import; where it cannot be built (another interpreter) `json.dumps` is used.
It keeps no cycle markers (they would outlive a failed call): a cyclic value runs into the recursion
limit instead, and then `json.dumps` raises its own error for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

__all__ = ["dump_json"]

_Encoder = Callable[[Any, int], "tuple[str, ...] | list[str]"]


def _build_encoder() -> _Encoder | None:
    try:
        from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]

        defaults = json.JSONEncoder()
        encoder: _Encoder = c_make_encoder(
            None,
            defaults.default,
            encode_basestring_ascii,
            None,
            defaults.key_separator,
            defaults.item_separator,
            False,
            False,
            True,
        )
        probe = {"a": [1, 2.5, None, True, "é\n"], "b": {"c": float("nan")}, 3: -1e300}
        if "".join(encoder(probe, 0)) != json.dumps(probe):
            return None
    except Exception:  # no C accelerator, or another signature: the plain path
        return None
    return encoder


_ENCODE = _build_encoder()


def dump_json(value: Any) -> str:
    """Return `json.dumps(value)`: the same text, and the same error for a value it cannot encode.

    Raises:
        TypeError: a value is not JSON-serialisable.
        ValueError: the value is circular (or otherwise refused by `json.dumps`).
    """
    if _ENCODE is not None:
        try:
            return "".join(_ENCODE(value, 0))
        except RecursionError:  # circular (no markers here) or very deep: json.dumps says which
            pass
    return json.dumps(value)
