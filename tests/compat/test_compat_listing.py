"""`list_files` of the official SDK: cursor pagination, OData `filter` on metadata, `name` substring."""

from __future__ import annotations

from typing import Any

import pytest

from .sdk_runner import SdkRunner, flatten, step

pytestmark = pytest.mark.compat


def article(index: int) -> dict[str, Any]:
    """A text file; every third is news, every third sports, the rest carry no category at all."""
    meta: dict[str, Any] = {"lang": "de" if index % 2 == 0 else "en", "index": index}
    category = {0: "news", 1: "sports"}.get(index % 3)
    if category is not None:
        meta["category"] = category
    name = f"report-{index:02d}.txt" if index % 5 == 0 else f"article-{index:02d}.txt"
    return {"name": name, "text": f"article number {index}", "meta": meta}


ARTICLES = [article(i) for i in range(25)]


def names_of(files: list[dict[str, Any]]) -> list[str]:
    return sorted(f["name"] for f in files)


def expected_names(predicate: Any) -> list[str]:
    return sorted(a["name"] for a in ARTICLES if predicate(a["meta"], a["name"]))


def test_list_files_pages_through_everything_and_filters_by_odata_and_name(sdk: SdkRunner) -> None:
    # Two direct uploads (at most 20 files each) put 25 files in the workspace without a session.
    first, second, everything, news, news_de, reports = sdk.run(
        step("upload_texts", files=ARTICLES[:13], show_progress=False),
        step("upload_texts", files=ARTICLES[13:], show_progress=False),
        step("list_files", batch_size=4),
        step("list_files", odata_filter="category eq 'news'", batch_size=3),
        step("list_files", odata_filter="category eq 'news' and lang eq 'de'"),
        step("list_files", name="report"),
    )
    assert first["value"]["successful_upload_count"] == 13
    assert second["value"]["successful_upload_count"] == 12

    # Cursor pagination: full pages of `batch_size`, every file exactly once.
    assert [len(page) for page in everything["value"]] == [4, 4, 4, 4, 4, 4, 1]
    all_files = flatten(everything["value"])
    assert names_of(all_files) == sorted(a["name"] for a in ARTICLES)
    assert len({f["file_id"] for f in all_files}) == 25
    by_name = {a["name"]: a["meta"] for a in ARTICLES}
    assert all(f["meta"] == by_name[f["name"]] for f in all_files)

    # OData on metadata: exactly the matching files, files without the key never match.
    assert names_of(flatten(news["value"])) == expected_names(lambda meta, _: meta.get("category") == "news")
    assert [len(page) for page in news["value"]] == [3, 3, 3]
    assert names_of(flatten(news_de["value"])) == expected_names(
        lambda meta, _: meta.get("category") == "news" and meta["lang"] == "de"
    )
    assert names_of(flatten(reports["value"])) == expected_names(lambda _, name: "report" in name)
