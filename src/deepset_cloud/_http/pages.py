"""Pages of listings: the `Page` model, and for pages of files (E1) their cursor and a fast structuring.

The next request of a file listing needs only the last item's `created_at` and `file_id`, so the
paginator reads them from the decoded JSON (`file_page_cursor`) and sends that request before it
structures the page. Structuring runs cattrs' generated code and a hook per field for every item, which was
most of the client's CPU in a listing: `structure_file_page` builds items of exactly the shape the API sends
directly, and hands everything else (a missing key, another type, an unknown key in strict mode) to the
converter, which says precisely what is wrong. Both ways give equal `File`s.
"""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any, Generic, TypeVar
from uuid import UUID

import attrs

from deepset_cloud._converter import parse_datetime, strict_responses, structure_response
from deepset_cloud.models import File

__all__ = ["Page", "file_page_cursor", "structure_file_page"]

T = TypeVar("T")


@attrs.frozen(kw_only=True)
class Page(Generic[T]):
    """One page of a listing."""

    data: tuple[T, ...]
    has_more: bool
    total: int | None = None


# Resolve the string annotations now: cattrs before 26.1 resolves them on `Page[File]`, which fails on 3.10.
attrs.resolve_types(Page)

_PAGE_KEYS = frozenset({"data", "has_more", "total"})
_FILE_KEYS = frozenset({"file_id", "url", "name", "size", "created_at", "meta"})
# The keys strict mode accepts in an item (the converter's `_KNOWN_IGNORED_KEYS` of `File`).
_STRICT_FILE_KEYS = _FILE_KEYS | {"characters", "languages"}
# `datetime.fromisoformat` reads a trailing `Z` from Python 3.11 on.
_FROMISOFORMAT_READS_Z = sys.version_info >= (3, 11)


class _Irregular(Exception):
    """The page is not of the usual shape: the converter structures it (and reports what is wrong)."""


def file_page_cursor(data: Any) -> tuple[datetime, UUID] | None:
    """The cursor after this page, read from its decoded JSON: its last item's (created_at, file_id).

    None if there is no next page (`has_more` is not true, or no items) or the page is malformed (then
    structuring it says how).
    """
    try:
        if data["has_more"] is not True:
            return None
        last = data["data"][-1]
        created_at, file_id = last["created_at"], last["file_id"]
        if type(created_at) is not str or type(file_id) is not str:
            return None
        return _datetime(created_at), UUID(file_id)
    except (TypeError, KeyError, IndexError, ValueError):
        return None


def structure_file_page(data: Any, *, strict: bool | None = None) -> Page[File]:
    """Structure a decoded E1 response (strictly if `strict`, default: `set_strict_responses`).

    Raises:
        ResponseValidationError: the data does not fit; the message lists every problem with its path.
    """
    strict = strict_responses() if strict is None else strict
    try:
        if type(data) is not dict or (strict and not _PAGE_KEYS.issuperset(data)):
            raise _Irregular
        items, has_more, total = data.get("data"), data.get("has_more"), data.get("total")
        if (
            type(items) is not list
            or type(has_more) is not bool
            or (total is not None and type(total) is not int)
        ):
            raise _Irregular
        allowed = _STRICT_FILE_KEYS if strict else None
        return Page(data=tuple([_file(item, allowed) for item in items]), has_more=has_more, total=total)
    except (_Irregular, KeyError, ValueError):
        return structure_response(data, Page[File], strict=strict)


def _file(item: Any, allowed: frozenset[str] | None) -> File:
    if type(item) is not dict or (allowed is not None and not allowed.issuperset(item)):
        raise _Irregular
    file_id, url, name = item["file_id"], item["url"], item["name"]
    size, created_at, meta = item["size"], item["created_at"], item["meta"]
    if (
        type(file_id) is not str
        or type(url) is not str
        or type(name) is not str
        or type(size) is not int  # not a bool either
        or type(created_at) is not str
        or type(meta) is not dict  # JSON object keys are strings: the converter would copy it as is
    ):
        raise _Irregular
    return File(
        file_id=UUID(file_id), url=url, name=name, size=size, created_at=_datetime(created_at), meta=meta
    )


def _datetime(text: str) -> datetime:
    """`parse_datetime`, with a shortcut for the API's own form `2024-02-03T07:58:54.730474Z`."""
    if (
        _FROMISOFORMAT_READS_Z
        and len(text) == 27
        and text[26] == "Z"
        and text[4] == text[7] == "-"
        and text[10] == "T"
        and text[13] == text[16] == ":"
        and text[19] == "."
    ):
        return datetime.fromisoformat(text)  # aware, in timezone.utc
    return parse_datetime(text)
