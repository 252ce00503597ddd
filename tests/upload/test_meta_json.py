"""Metadata JSON: the text and the errors of `json.dumps`, from an encoder built once."""

from __future__ import annotations

import json
from typing import Any

import pytest

from deepset_cloud._upload import meta_json
from deepset_cloud._upload.meta_json import dump_json


def test_the_fast_encoder_is_in_use_here() -> None:
    # CPython builds it; without it every other test here would only test json.dumps against itself.
    assert meta_json._ENCODE is not None


@pytest.mark.parametrize(
    "value",
    [
        {},
        {"i": 5},
        {"title": 'résumé \u2028 \x00 "q" \\', "n": -1.5e-300, "big": 10**30, "ok": True, "none": None},
        {"nested": {"list": [1, [2, {"x": float("inf")}], float("nan")], "tuple": (1, "a")}},
        {3: "int key", 2.5: "float key", True: "bool key", None: "none key"},
        {"shared": [{"same": 1}] * 3},  # one object twice is not a cycle
    ],
)
def test_same_text_as_json_dumps(value: dict[Any, Any]) -> None:
    assert dump_json(value) == json.dumps(value)


def _error_of(call: Any, value: Any) -> tuple[type[BaseException], str]:
    with pytest.raises((TypeError, ValueError)) as caught:
        call(value)
    return type(caught.value), str(caught.value)


def test_same_error_for_what_json_dumps_refuses() -> None:
    circular: dict[str, Any] = {"a": 1}
    circular["self"] = circular
    deep_circular: dict[str, Any] = {"list": []}
    deep_circular["list"].append({"back": deep_circular})
    for value in ({"when": object()}, {(1, 2): "tuple key"}, {"set": {1}}, circular, deep_circular):
        assert _error_of(dump_json, value) == _error_of(json.dumps, value)
    assert "Circular reference" in _error_of(dump_json, circular)[1]


def test_a_failed_call_leaves_the_encoder_working() -> None:
    circular: dict[str, Any] = {}
    circular["self"] = circular
    shared = {"x": 1}
    with pytest.raises(ValueError):
        dump_json({"a": shared, "b": circular})

    assert dump_json({"a": shared, "b": shared}) == '{"a": {"x": 1}, "b": {"x": 1}}'
