"""The exception tree: status mapping, retryability, pickling, and no secrets in messages."""

from __future__ import annotations

import pickle
from pathlib import Path
from uuid import uuid4

import pytest

from deepset_cloud import errors


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, errors.BadRequestError),
        (401, errors.AuthenticationError),
        (403, errors.PermissionDeniedError),
        (404, errors.NotFoundError),
        (409, errors.ConflictError),
        (422, errors.UnprocessableEntityError),
        (429, errors.RateLimitError),
        (500, errors.ServerError),
        (503, errors.ServerError),
        (418, errors.APIError),
    ],
)
def test_status_maps_to_its_class(status: int, expected: type[errors.APIError]) -> None:
    assert errors.api_error_class(status) is expected


def test_only_transient_errors_are_retryable() -> None:
    assert errors.ServerError("x", status_code=502).is_retryable
    assert errors.RateLimitError("x", status_code=429).is_retryable
    assert errors.ConnectError("x").is_retryable
    assert not errors.NotFoundError("x", status_code=404).is_retryable
    assert not errors.UploadError("x", file_name="a.txt").is_retryable
    assert errors.UploadError("x", file_name="a.txt", is_retryable=True).is_retryable


def test_every_exception_is_under_the_root() -> None:
    public = [getattr(errors, name) for name in errors.__all__ if name[0].isupper()]
    for cls in public:
        if issubclass(cls, Warning):
            continue
        assert issubclass(cls, errors.DeepsetCloudError), cls


@pytest.mark.parametrize(
    "error",
    [
        errors.ConfigurationError("no API key"),
        errors.ConnectError("refused", method="GET", url="http://127.0.0.1/api/v1/x"),
        errors.RateLimitError("slow down", status_code=429, retry_after=2.5, body="{}"),
        errors.UploadError("denied", file_name="a.txt", s3_code="AccessDenied", status_code=403),
        errors.IngestionTimeoutError(
            "too slow", timeout_s=5, session_ids=[uuid4()], finished_files=1, failed_files=0, expected_files=3
        ),
        errors.SyncFacadeError("wrong thread"),
        errors.ConfigurationError("missing", missing_paths=[Path("a")], broken_sidecars=[(Path("b"), "bad")]),
        errors.ServerError("down", status_code=503, messages=["busy"], request_id="r1", retry_after=1.0),
        errors.OperationTimeoutError("listing too slow", timeout_s=1.5),
        errors.ClientClosedError("closed"),
    ],
)
def test_exceptions_survive_pickling(error: errors.DeepsetCloudError) -> None:
    clone = pickle.loads(pickle.dumps(error))
    assert type(clone) is type(error)
    assert str(clone) == str(error)
    assert vars(clone) == vars(error)


def test_ingestion_timeout_is_a_timeout_error() -> None:
    session_id = uuid4()
    error = errors.IngestionTimeoutError(
        "waited 5 s",
        timeout_s=5,
        session_ids=[session_id],
        finished_files=2,
        failed_files=1,
        expected_files=4,
    )
    assert isinstance(error, TimeoutError)
    assert isinstance(error, errors.OperationTimeoutError)
    assert error.timeout_s == 5
    assert error.session_ids == (session_id,)
    assert (error.finished_files, error.failed_files, error.expected_files) == (2, 1, 4)


def test_a_failed_request_and_a_spent_budget_are_different_errors() -> None:
    assert not issubclass(errors.OperationTimeoutError, errors.TransportError)
    assert not issubclass(errors.RequestTimeout, errors.OperationTimeoutError)
    assert issubclass(errors.ClientClosedError, RuntimeError)


def test_an_instance_can_override_whether_it_is_retryable() -> None:
    assert errors.UploadError("x", file_name="a", is_retryable=True).is_retryable is True
    assert errors.UploadError("x", file_name="a").is_retryable is False
    assert errors.APIError("teapot", status_code=408, is_retryable=True).is_retryable is True
