"""Pages of files: the fast structuring equals the converter's, and the cursor read from the JSON."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given, strategies as st

from deepset_cloud._converter import structure_response
from deepset_cloud._http.pages import Page, file_page_cursor, structure_file_page
from deepset_cloud.errors import ResponseValidationError
from deepset_cloud.models import File

ITEM: dict[str, Any] = {
    "file_id": "cd16435f-f6eb-423f-bf6f-994dc8a36a10",
    "url": "/api/v1/workspaces/ws/files/cd16435f-f6eb-423f-bf6f-994dc8a36a10",
    "name": "a.txt",
    "size": 611,
    "created_at": "2024-02-03T07:58:54.730474Z",
    "meta": {"category": "news", "nested": {"a": [1, None]}},
    "characters": 0,
    "languages": None,
}


def page(*items: dict[str, Any], **envelope: Any) -> dict[str, Any]:
    return {"total": len(items), "has_more": False, "data": list(items), **envelope}


def outcome(data: Any, strict: bool, fast: bool) -> Page[File] | str:
    """The structured page, or the error message (the fast way must fail exactly like the converter)."""
    try:
        if fast:
            return structure_file_page(copy.deepcopy(data), strict=strict)
        return structure_response(copy.deepcopy(data), Page[File], strict=strict)
    except ResponseValidationError as exc:
        return f"error: {exc}"


def assert_same(data: Any) -> None:
    for strict in (False, True):
        assert outcome(data, strict, fast=True) == outcome(data, strict, fast=False), strict


def test_the_api_shape_is_structured_like_the_converter_does() -> None:
    result = structure_file_page(page(ITEM, ITEM, has_more=True, total=99), strict=True)
    assert result.has_more is True
    assert result.total == 99
    (first, _) = result.data
    assert first.file_id == UUID(ITEM["file_id"])
    assert first.created_at == datetime(2024, 2, 3, 7, 58, 54, 730474, tzinfo=timezone.utc)
    assert first.created_at.utcoffset() is not None
    assert first.meta == ITEM["meta"]
    assert_same(page(ITEM, ITEM, has_more=True, total=99))


@pytest.mark.parametrize(
    "change",
    [
        {"created_at": "2024-02-03T07:58:54.730474+00:00"},
        {"created_at": "2024-02-03T07:58:54Z"},
        {"created_at": "2024-02-03T09:58:54.730474+02:00"},
        {"created_at": "2024-02-03T07:58:54.730474"},
        {"created_at": "2024-02-03T07:58:54.7304741Z"},
        {"created_at": "2024-13-03T07:58:54.730474Z"},
        {"created_at": "2024-02-03X07:58:54.730474Z"},
        {"created_at": "yesterday at noon, roughly.."},
        {"created_at": 5},
        {"file_id": "CD16435F-F6EB-423F-BF6F-994DC8A36A10"},
        {"file_id": "{cd16435f-f6eb-423f-bf6f-994dc8a36a10}"},
        {"file_id": "not-a-uuid"},
        {"file_id": 7},
        {"size": True},
        {"size": 1.5},
        {"size": "3"},
        {"name": None},
        {"url": 1},
        {"meta": None},
        {"meta": []},
        {"meta": {}},
        {"unknown": 1},
    ],
)
def test_every_other_shape_fails_or_succeeds_exactly_like_the_converter(change: dict[str, Any]) -> None:
    assert_same(page(ITEM, {**ITEM, **change}))


@pytest.mark.parametrize("missing", ["file_id", "url", "name", "size", "created_at", "meta", "characters"])
def test_a_missing_key_is_reported_like_the_converter_does(missing: str) -> None:
    assert_same(page({key: value for key, value in ITEM.items() if key != missing}))


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"data": [], "has_more": False},
        {"data": [ITEM], "has_more": "yes"},
        {"data": [ITEM], "has_more": False, "total": None},
        {"data": [ITEM], "has_more": False, "total": True},
        {"data": [ITEM], "has_more": False, "total": 1, "extra": 1},
        {"data": (ITEM,), "has_more": False},
        {"data": [ITEM, 3], "has_more": False},
        {"has_more": False},
    ],
)
def test_envelopes_are_structured_like_the_converter_does(data: Any) -> None:
    assert_same(data)


_JSON_SCALARS = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5)
_FIELD_VALUES = {
    "file_id": st.sampled_from([ITEM["file_id"], "x", ""]) | _JSON_SCALARS,
    "url": st.just("u") | _JSON_SCALARS,
    "name": st.just("n") | _JSON_SCALARS,
    "size": st.integers() | _JSON_SCALARS,
    "created_at": st.sampled_from([ITEM["created_at"], "2024-02-03T07:58:54+01:00"]) | _JSON_SCALARS,
    "meta": st.dictionaries(st.text(max_size=3), _JSON_SCALARS, max_size=3) | _JSON_SCALARS,
}


@given(st.fixed_dictionaries({}, optional=_FIELD_VALUES))
def test_any_item_is_structured_like_the_converter_does(item: dict[str, Any]) -> None:
    assert_same(page(item))


def test_the_cursor_is_the_last_items_as_the_structured_page_has_it() -> None:
    last = {**ITEM, "file_id": "00000000-0000-4000-8000-000000000002"}
    data = page(ITEM, last, has_more=True)
    structured = structure_file_page(data, strict=True).data[-1]
    assert file_page_cursor(data) == (structured.created_at, structured.file_id)
    plus = page(ITEM, {**last, "created_at": "2024-02-03T08:58:54.730474+01:00"}, has_more=True)
    assert file_page_cursor(plus) == (structured.created_at, structured.file_id)


@pytest.mark.parametrize(
    "data",
    [
        page(ITEM),  # has_more false: no next page
        page(has_more=True),  # no items
        page({**ITEM, "created_at": "soon"}, has_more=True),
        page({**ITEM, "file_id": 3}, has_more=True),
        page({"name": "x"}, has_more=True),
        {"data": "nope", "has_more": True},
        {"has_more": "true", "data": [ITEM]},
        None,
        [ITEM],
    ],
)
def test_no_cursor_when_there_is_no_next_page_or_it_cannot_be_read(data: Any) -> None:
    assert file_page_cursor(data) is None
