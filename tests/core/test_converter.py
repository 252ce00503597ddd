"""The converter: every response model, timestamps in every server style, lenient vs strict mode."""

from __future__ import annotations

import pickle
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import given, strategies as st

from deepset_cloud._converter import (
    format_datetime,
    make_converter,
    parse_datetime,
    structure_response,
    unstructure,
)
from deepset_cloud._http.api import Page
from deepset_cloud.errors import ResponseValidationError
from deepset_cloud.models import (
    AWSPrefixedRequestConfig,
    File,
    UploadSession,
    UploadSessionDetail,
    UploadSessionIngestionStatus,
    UploadSessionStatus,
    UploadSessionStatusEnum,
    UserInfo,
    WriteMode,
)

FILE_ID = "cd16435f-f6eb-423f-bf6f-994dc8a36a10"
SESSION_ID = "2f9e1c7a-6a0b-4d2e-9a57-0d7c3c7b1e11"
USER_ID = "6f1d2c3b-0000-4000-8000-000000000001"


def file_json(**changes: Any) -> dict[str, Any]:
    data = {
        "file_id": FILE_ID,
        "url": f"/api/v1/workspaces/my ws/files/{FILE_ID}",
        "name": "report.txt",
        "size": 611,
        "created_at": "2024-02-03T07:58:54.730474Z",
        "meta": {"category": "news"},
    }
    return {**data, **changes}


def session_detail_json(**changes: Any) -> dict[str, Any]:
    data = {
        "session_id": SESSION_ID,
        "created_by": {"user_id": USER_ID, "given_name": "Kristof", "family_name": "Test"},
        "created_at": "2024-02-03T07:58:54.730474Z",
        "expires_at": "2024-02-04T07:58:54.730474Z",
        "write_mode": "KEEP",
        "status": "OPEN",
    }
    return {**data, **changes}


STATUS_JSON = {
    "session_id": SESSION_ID,
    "expires_at": "2024-02-04T07:58:54.730474Z",
    "documentation_url": "https://docs.cloud.deepset.ai/docs",
    "ingestion_status": {"failed_files": 1, "finished_files": 2},
}
SESSION_JSON = {
    "session_id": SESSION_ID,
    "documentation_url": "https://docs.cloud.deepset.ai/docs",
    "expires_at": "2024-02-04T07:58:54.730474Z",
    "aws_prefixed_request_config": {
        "url": "https://bucket.s3.amazonaws.com/",
        "fields": {"key": "a/${filename}"},
    },
}
EXPECTED_TIME = datetime(2024, 2, 3, 7, 58, 54, 730474, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def strict_responses() -> None:
    """Overrides the conftest fixture: these tests exercise the real lenient converter."""


# -- every response model -------------------------------------------------------------------------------


def test_file_page_structures_with_all_fields() -> None:
    page = structure_response({"total": 23, "has_more": True, "data": [file_json()]}, Page[File], strict=True)
    assert page == Page(
        data=(
            File(
                file_id=UUID(FILE_ID),
                url=f"/api/v1/workspaces/my ws/files/{FILE_ID}",
                name="report.txt",
                size=611,
                created_at=EXPECTED_TIME,
                meta={"category": "news"},
            ),
        ),
        has_more=True,
        total=23,
    )


def test_session_detail_page_structures_nested_user() -> None:
    page = structure_response(
        {
            "total": 1,
            "has_more": False,
            "data": [session_detail_json(write_mode="OVERWRITE", status="EXPIRED")],
        },
        Page[UploadSessionDetail],
        strict=True,
    )
    (detail,) = page.data
    assert detail.created_by == UserInfo(user_id=UUID(USER_ID), given_name="Kristof", family_name="Test")
    assert detail.write_mode is WriteMode.OVERWRITE
    assert detail.status is UploadSessionStatusEnum.EXPIRED
    assert detail.expires_at - detail.created_at == timedelta(days=1)


def test_session_status_structures() -> None:
    status = structure_response(STATUS_JSON, UploadSessionStatus, strict=True)
    assert status.ingestion_status == UploadSessionIngestionStatus(failed_files=1, finished_files=2)
    assert status.session_id == UUID(SESSION_ID)


def test_upload_session_structures_presigned_fields() -> None:
    session = structure_response(SESSION_JSON, UploadSession, strict=True)
    assert session.aws_prefixed_request_config == AWSPrefixedRequestConfig(
        url="https://bucket.s3.amazonaws.com/", fields={"key": "a/${filename}"}
    )


# -- timestamps -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-03T07:58:54.730474Z", EXPECTED_TIME),
        ("2024-02-03T07:58:54.730474+00:00", EXPECTED_TIME),
        ("2024-02-03T07:58:54.730474", EXPECTED_TIME),  # naive: taken as UTC
        ("2024-02-03T08:58:54.730474+01:00", EXPECTED_TIME),
        ("2024-02-03T07:58:54.730474z", EXPECTED_TIME),
        ("2024-02-03T07:58:54.73047412345Z", EXPECTED_TIME),  # nanoseconds and more: truncated
        ("2024-02-03T07:58:54.7Z", EXPECTED_TIME.replace(microsecond=700000)),
        ("2024-02-03T07:58:54.73Z", EXPECTED_TIME.replace(microsecond=730000)),
        ("2024-02-03T07:58:54.7304Z", EXPECTED_TIME.replace(microsecond=730400)),
        ("2024-02-03T07:58:54Z", EXPECTED_TIME.replace(microsecond=0)),
        ("2024-02-03T07:58:54+0000", EXPECTED_TIME.replace(microsecond=0)),
        ("2024-02-03T09:58:54+02", EXPECTED_TIME.replace(microsecond=0)),
        ("2024-02-03 07:58:54.730474+00:00", EXPECTED_TIME),
    ],
)
def test_parse_datetime_accepts_every_server_style(text: str, expected: datetime) -> None:
    parsed = parse_datetime(text)
    assert parsed == expected
    assert parsed.tzinfo is timezone.utc


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2024-02-03", "2024-02-03T07:58:54.Z", "2024-13-03T07:58:54Z"]
)
def test_parse_datetime_rejects_garbage(text: str) -> None:
    with pytest.raises(ValueError):
        parse_datetime(text)


def test_bad_timestamp_in_response_is_a_validation_error_with_path() -> None:
    with pytest.raises(ResponseValidationError, match=r"created_at"):
        structure_response(
            {"total": 1, "has_more": False, "data": [file_json(created_at="soon")]}, Page[File]
        )


@given(st.datetimes(timezones=st.just(timezone.utc)))
def test_format_then_parse_round_trips(value: datetime) -> None:
    text = format_datetime(value)
    assert text.endswith("Z")
    assert parse_datetime(text) == value


def test_format_datetime_takes_naive_values_as_utc() -> None:
    assert format_datetime(datetime(2024, 1, 2, 3, 4, 5)) == "2024-01-02T03:04:05.000000Z"  # noqa: DTZ001


# -- unknown keys and values -------------------------------------------------------------------------------


def test_unknown_keys_are_ignored_by_default() -> None:
    data = {"total": 1, "has_more": False, "data": [file_json(characters=0, languages=None)], "new": 1}
    page = structure_response(data, Page[File])
    assert page.data[0].name == "report.txt"


def test_unknown_keys_fail_in_strict_mode_and_name_the_key() -> None:
    data = {"total": 1, "has_more": False, "data": [file_json(owner="me")]}
    with pytest.raises(ResponseValidationError, match="owner"):
        structure_response(data, Page[File], strict=True)
    with pytest.raises(ResponseValidationError, match="extra"):
        structure_response({**STATUS_JSON, "extra": 1}, UploadSessionStatus, strict=True)


def test_strict_mode_accepts_the_documented_unmodelled_file_keys() -> None:
    data = {"total": 1, "has_more": False, "data": [file_json(characters=0, languages=None)]}
    assert structure_response(data, Page[File], strict=True).data[0].name == "report.txt"


def test_unknown_session_status_becomes_unknown_in_production() -> None:
    page = structure_response(
        {"total": 1, "has_more": False, "data": [session_detail_json(status="ARCHIVED")]},
        Page[UploadSessionDetail],
        strict=False,
    )
    assert page.data[0].status is UploadSessionStatusEnum.UNKNOWN


def test_unknown_write_mode_is_kept_as_a_plain_string() -> None:
    page = structure_response(
        {"total": 1, "has_more": False, "data": [session_detail_json(write_mode="MERGE")]},
        Page[UploadSessionDetail],
        strict=False,
    )
    mode = page.data[0].write_mode
    assert type(mode) is str
    assert mode == "MERGE"
    assert list(WriteMode) == [WriteMode.KEEP, WriteMode.OVERWRITE, WriteMode.FAIL]  # the enum is unchanged
    assert pickle.loads(pickle.dumps(page.data[0])) == page.data[0]


def test_a_known_write_mode_is_the_member() -> None:
    page = structure_response(
        {"total": 1, "has_more": False, "data": [session_detail_json(write_mode="OVERWRITE")]},
        Page[UploadSessionDetail],
    )
    assert page.data[0].write_mode is WriteMode.OVERWRITE


def test_unknown_write_mode_fails_in_strict_mode() -> None:
    with pytest.raises(ResponseValidationError, match="write_mode"):
        structure_response(
            {"total": 1, "has_more": False, "data": [session_detail_json(write_mode="MERGE")]},
            Page[UploadSessionDetail],
            strict=True,
        )


def test_unknown_enum_values_fail_in_strict_mode() -> None:
    with pytest.raises(ResponseValidationError, match="status"):
        structure_response(
            {"total": 1, "has_more": False, "data": [session_detail_json(status="ARCHIVED")]},
            Page[UploadSessionDetail],
            strict=True,
        )


# -- wrong shapes -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        ({"total": 1, "has_more": "yes", "data": []}, "has_more"),
        ({"total": 1, "has_more": False, "data": [file_json(size="611")]}, "size"),
        ({"total": 1, "has_more": False, "data": [file_json(size=True)]}, "size"),
        ({"total": 1, "has_more": False, "data": [file_json(file_id="not-a-uuid")]}, "file_id"),
        ({"total": 1, "has_more": False, "data": [file_json(name=5)]}, "name"),
        ({"has_more": False}, "data"),
        ({"total": 1, "has_more": False, "data": [{"file_id": FILE_ID}]}, "url"),
        ([], "Page"),
        ("<html>", "Page"),
        (None, "Page"),
    ],
)
def test_wrong_shapes_raise_response_validation_error(data: Any, fragment: str) -> None:
    with pytest.raises(ResponseValidationError, match=fragment) as info:
        structure_response(data, Page[File])
    assert info.value.__cause__ is not None


def test_every_problem_is_listed() -> None:
    with pytest.raises(ResponseValidationError) as info:
        structure_response(file_json(size="x", name=None), File)
    assert "size" in str(info.value)
    assert "name" in str(info.value)


# -- unstructure and round trips --------------------------------------------------------------------------


def test_unstructure_writes_wire_format() -> None:
    status = structure_response(STATUS_JSON, UploadSessionStatus)
    assert unstructure(status) == STATUS_JSON


uuids = st.uuids()
aware = st.datetimes(timezones=st.just(timezone.utc))
text = st.text(max_size=20)
meta = st.dictionaries(
    st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=5), st.booleans(), st.none())
)
files = st.builds(File, file_id=uuids, url=text, name=text, size=st.integers(0), created_at=aware, meta=meta)
details = st.builds(
    UploadSessionDetail,
    session_id=uuids,
    created_by=st.builds(UserInfo, user_id=uuids, given_name=text, family_name=text),
    created_at=aware,
    expires_at=aware,
    write_mode=st.sampled_from(WriteMode),
    status=st.sampled_from(UploadSessionStatusEnum),
)
statuses = st.builds(
    UploadSessionStatus,
    session_id=uuids,
    expires_at=aware,
    documentation_url=text,
    ingestion_status=st.builds(
        UploadSessionIngestionStatus, failed_files=st.integers(0), finished_files=st.integers(0)
    ),
)
sessions = st.builds(
    UploadSession,
    session_id=uuids,
    documentation_url=text,
    expires_at=aware,
    aws_prefixed_request_config=st.builds(
        AWSPrefixedRequestConfig, url=text, fields=st.dictionaries(text, text, max_size=4)
    ),
)


@given(st.one_of(files, details, statuses, sessions))
def test_every_model_round_trips_through_the_strict_converter(model: Any) -> None:
    strict = make_converter(strict=True)
    assert strict.structure(strict.unstructure(model), type(model)) == model


@given(st.lists(files, max_size=3), st.booleans(), st.one_of(st.none(), st.integers(0)))
def test_pages_round_trip(items: list[File], has_more: bool, total: int | None) -> None:
    page = Page(data=tuple(items), has_more=has_more, total=total)
    assert structure_response(unstructure(page), Page[File], strict=True) == page


def test_make_converter_returns_fresh_private_converters() -> None:
    assert make_converter() is not make_converter()
    assert uuid4() != uuid4()
