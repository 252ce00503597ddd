"""The Django project's sync views, driven through Django's WSGI test client, call the sync facade."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.test import Client

from .files_app.rendezvous import HEADER, rendezvous
from .scenario import (
    DIRECT_COUNT,
    LIST_PATH,
    MAX_PAGES_FETCHED_AFTER_EARLY_STOP,
    NEWS_FILTER,
    SESSION_COUNT,
    UPLOAD_PATH,
    direct_report,
    list_requests,
    listed,
    listing,
    make_texts,
    session_report,
)


def _upload(client: Any, texts: list[dict[str, Any]], **extra: Any) -> Any:
    return client.post(UPLOAD_PATH, {"files": texts}, content_type="application/json", **extra)


def _list(client: Any, **query: str) -> Any:
    response = client.get(LIST_PATH, query)
    assert response.status_code == 200, response.content
    return response.json()


def test_direct_upload_then_list(client: Any) -> None:
    texts = make_texts("direct", DIRECT_COUNT)

    response = _upload(client, texts)

    assert response.status_code == 200, response.content
    assert response.json() == direct_report(DIRECT_COUNT)
    assert listed(_list(client)) == listing(texts)
    assert listed(_list(client, odata_filter=NEWS_FILTER)) == listing(texts, category="news")


def test_blocking_session_upload_then_list_in_pages(client: Any) -> None:
    texts = make_texts("session", SESSION_COUNT)

    response = _upload(client, texts)

    assert response.status_code == 200, response.content
    assert response.json() == session_report(SESSION_COUNT)
    # batch_size 10 -> three pages pulled through the facade's iterator
    assert listed(_list(client, batch_size="10")) == listing(texts)
    news = listed(_list(client, odata_filter=NEWS_FILTER, batch_size="4"))
    assert news == listing(texts, category="news")
    assert len(news) == 13


def test_view_that_stops_after_one_page_fetches_no_more(client: Any, deepset_emulator: Any) -> None:
    texts = make_texts("paged", SESSION_COUNT)
    assert _upload(client, texts).status_code == 200
    before = list_requests(deepset_emulator)

    first_page = listed(_list(client, batch_size="5", limit="5"))
    fetched = list_requests(deepset_emulator) - before

    assert len({name for name, _ in first_page}) == 5
    assert all(item in listing(texts) for item in first_page)
    assert 1 <= fetched <= MAX_PAGES_FETCHED_AFTER_EARLY_STOP < SESSION_COUNT // 5
    # The abandoned iterator was cleaned up, and the shared loop still serves the next call.
    assert listed(_list(client, batch_size="5")) == listing(texts)


def test_workspace_is_read_from_the_environment_at_call_time(
    client: Any, deepset_env: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = make_texts("first", 2), make_texts("second", 2)
    assert _upload(client, first).status_code == 200

    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", f"{deepset_env}-other")
    assert _upload(client, second).status_code == 200
    assert listed(_list(client)) == listing(second)

    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", deepset_env)
    assert listed(_list(client)) == listing(first)


def test_bad_input_is_refused_and_nothing_is_uploaded(client: Any) -> None:
    unnamed = [*make_texts("ok", 2), {"name": " ", "text": "no name", "meta": None}]

    refused_by_sdk = _upload(client, unnamed)
    not_json = client.post(UPLOAD_PATH, b"{not json", content_type="application/json")
    bad_filter = client.get(LIST_PATH, {"odata_filter": "category eq"})

    assert refused_by_sdk.status_code == 400
    assert "files[2]" in refused_by_sdk.json()["errors"][0]
    assert not_json.status_code == 400
    assert bad_filter.status_code == 400, bad_filter.content
    assert _list(client) == {"count": 0, "files": []}


def test_missing_api_key_is_a_clear_error(
    client: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    monkeypatch.delenv("API_KEY")
    monkeypatch.chdir(tmp_path)  # no ./.env
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.deepset-cloud/.env

    response = client.get(LIST_PATH)

    assert response.status_code == 400
    assert "API key" in response.json()["errors"][0]


def test_parallel_threaded_requests_share_the_facade(client: Any) -> None:
    # Like a threaded WSGI server (gunicorn --threads): each request runs its view in its own thread; the
    # rendezvous only opens when all of them are inside Django at once, so the facade calls really overlap.
    batches = [make_texts(f"thread{index}", 2 + index) for index in range(4)]
    listers = 2
    parties = len(batches) + listers

    def upload(texts: list[dict[str, Any]]) -> Any:
        return _upload(Client(), texts, headers={HEADER: "1"})

    def list_all() -> Any:
        return Client().get(LIST_PATH, headers={HEADER: "1"})

    with rendezvous(parties), ThreadPoolExecutor(max_workers=parties) as pool:
        upload_futures = [pool.submit(upload, texts) for texts in batches]
        list_futures = [pool.submit(list_all) for _ in range(listers)]
        uploads = [future.result() for future in upload_futures]
        lists = [future.result() for future in list_futures]

    for texts, response in zip(batches, uploads, strict=True):
        assert response.status_code == 200, response.content
        assert response.json() == direct_report(len(texts))
    for response in lists:
        assert response.status_code == 200, response.content
    everything = [text for texts in batches for text in texts]
    assert listed(_list(client)) == listing(everything)
