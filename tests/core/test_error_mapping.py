"""Mapping non-2xx responses to our exceptions, with messages that say what to do next (no server)."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from deepset_cloud._http.errors import build_api_error, parse_retry_after
from deepset_cloud.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    UnprocessableEntityError,
)

URL = "http://127.0.0.1:1/api/v1/workspaces/ws/files"


def error(status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> APIError:
    return build_api_error(
        status=status, reason="Reason", method="GET", url=URL, body=body, headers=headers or {}
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (422, UnprocessableEntityError),
        (429, RateLimitError),
        (500, ServerError),
        (503, ServerError),
        (418, APIError),
        (302, APIError),
    ],
)
def test_status_maps_to_its_class(status: int, cls: type[APIError]) -> None:
    exc = error(status)
    assert type(exc) is cls
    assert exc.status_code == status
    assert exc.method == "GET"
    assert exc.url == URL


def test_errors_list_body_is_the_message() -> None:
    exc = error(
        400, b'{"errors": ["invalid filter", "limit too big"]}', headers={"Content-Type": "application/json"}
    )
    assert "invalid filter; limit too big" in str(exc)
    assert exc.messages == ("invalid filter", "limit too big")


def test_fastapi_detail_list_is_flattened_with_locations() -> None:
    exc = error(422, b'{"detail": [{"loc": ["query", "limit"], "msg": "must be > 0"}]}')
    assert "query.limit: must be > 0" in str(exc)


def test_detail_string_is_the_message() -> None:
    assert "Not authenticated" in str(error(401, b'{"detail": "Not authenticated"}'))


def test_html_proxy_page_is_reduced_to_its_text_and_truncated() -> None:
    body = b"<html><head><title>502 Bad Gateway</title></head><body>" + b"x" * 5000 + b"</body></html>"
    exc = error(502, body, headers={"Content-Type": "text/html"})
    assert "502 Bad Gateway" in str(exc)
    assert "<html>" not in str(exc)
    assert len(str(exc)) < 1000
    assert len(exc.body) <= 500


@pytest.mark.parametrize(
    ("status", "hint"),
    [
        (401, "API key"),
        (403, "may not access"),
        (404, "workspace name"),
        (429, "retry"),
        (503, "retry later"),
        (301, "API_URL"),
    ],
)
def test_messages_say_what_to_do_next(status: int, hint: str) -> None:
    assert hint in str(error(status, b'{"errors": ["nope"]}', headers={"Content-Type": "application/json"}))


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"404: Not Found", "text/plain"),
        (b"<html>Not here</html>", "text/html"),
        (b"", ""),
        (b"[]", "application/json"),
    ],
    ids=["plain", "html", "empty", "json-but-not-an-object"],
)
def test_a_404_that_is_not_the_apis_own_answer_says_to_check_api_url(body: bytes, content_type: str) -> None:
    message = str(error(404, body, headers={"Content-Type": content_type}))
    assert "check API_URL" in message
    assert "workspace name" not in message


def test_rate_limit_carries_retry_after_and_is_retryable() -> None:
    exc = error(429, headers={"Retry-After": "3"})
    assert isinstance(exc, RateLimitError)
    assert exc.retry_after == 3.0
    assert exc.is_retryable
    assert "retry in 3 s" in str(exc)


def test_server_error_carries_retry_after_too() -> None:
    exc = error(503, headers={"Retry-After": "2"})
    assert exc.retry_after == 2.0
    assert exc.is_retryable


def test_408_is_retryable_per_instance() -> None:
    exc = error(408)
    assert type(exc) is APIError
    assert exc.is_retryable
    assert not error(418).is_retryable


def test_request_id_is_kept() -> None:
    assert error(500, headers={"X-Request-Id": "abc"}).request_id == "abc"


def test_mapped_errors_pickle() -> None:
    exc = error(429, b'{"errors": ["slow down"]}', headers={"Retry-After": "1"})
    copy = pickle.loads(pickle.dumps(exc))
    assert type(copy) is RateLimitError
    assert (copy.status_code, copy.retry_after, str(copy)) == (429, 1.0, str(exc))


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        (" 1.5 ", 1.5),
        ("-4", 0.0),
        ("", None),
        (None, None),
        ("soon", None),
        ("nan", None),
    ],
)
def test_parse_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_parse_retry_after_http_date() -> None:
    now = datetime(2024, 1, 1, 12, 0, 0, tzinfo=timezone.utc)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now=now.timestamp()) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now=now.timestamp()) == 0.0
