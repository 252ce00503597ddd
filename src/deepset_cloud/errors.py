"""Every exception this SDK raises on purpose.

```
DeepsetCloudError
├── ConfigurationError            missing API key or workspace, bad arguments; raised before any I/O
│   └── DeleteGuardError          sync would delete more files than max_delete allows (nothing changed)
├── ClientClosedError             also a RuntimeError: a closed client, or a client used on another loop
├── TransportError                no HTTP response arrived (retryable)
│   ├── ConnectError
│   └── RequestTimeout            one request got no answer in time
├── APIError                      the API answered with a non-2xx status
│   ├── BadRequestError           400
│   ├── AuthenticationError       401
│   ├── PermissionDeniedError     403
│   ├── NotFoundError             404
│   ├── ConflictError             409
│   ├── UnprocessableEntityError  422
│   ├── RateLimitError            429 (retryable, has retry_after)
│   └── ServerError               5xx (retryable)
├── UploadError                   the storage (S3) leg of an upload failed, with the S3 error code
├── ResponseValidationError       a 2xx body did not fit the expected shape
├── OperationTimeoutError         also a TimeoutError: a listing or download did not finish within timeout_s
│   └── IngestionTimeoutError     ingestion did not finish within timeout_s
└── SyncFacadeError               also a RuntimeError: the sync API was misused (e.g. called from its own loop)
```

Retry code reads `is_retryable` instead of keeping lists of classes. Every attribute is declared and
typed on its class. No exception carries request headers, so the API key never appears in a message or a
traceback. All of them survive pickling.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

if TYPE_CHECKING:
    from deepset_cloud.models import DownloadReport, UploadReport

__all__ = [
    "APIError",
    "AuthenticationError",
    "BadRequestError",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "DeepsetCloudError",
    "DeleteGuardError",
    "IngestionTimeoutError",
    "NotFoundError",
    "OperationTimeoutError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseValidationError",
    "ServerError",
    "SyncFacadeError",
    "SyncInAsyncContextWarning",
    "TransportError",
    "UnprocessableEntityError",
    "UploadError",
    "api_error_class",
]


class DeepsetCloudError(Exception):
    """Root of every exception raised on purpose by `deepset_cloud`.

    Attributes:
        message: what went wrong and, where it helps, what to do next.
        is_retryable: whether the same request may succeed if sent again.
        upload_report: on an error that aborted an upload, what the upload did before it stopped, else None.
    """

    message: str
    is_retryable: bool = False
    upload_report: UploadReport | None

    def __init__(
        self, message: str, *, is_retryable: bool | None = None, upload_report: UploadReport | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if is_retryable is not None:
            self.is_retryable = is_retryable
        self.upload_report = upload_report

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors do not survive the default `(cls, args)` reduction; every attribute is
        # in `__dict__`, so rebuild from the message and restore the rest as state.
        return (_rebuild, (type(self), self.message), self.__dict__)

    def __str__(self) -> str:
        return self.message


def _rebuild(cls: type[DeepsetCloudError], message: str) -> DeepsetCloudError:
    error = cls.__new__(cls)
    Exception.__init__(error, message)
    return error


class ConfigurationError(DeepsetCloudError):
    """The SDK is not configured well enough to make a request (no API key, no workspace, bad argument).

    Attributes:
        missing_paths: paths given to an upload that do not exist (empty for other mistakes); URLs of
            object storage as strings.
        broken_sidecars: `(sidecar path, problem)` for every invalid `.meta.json` sidecar (empty otherwise);
            the URL for a sidecar in object storage.
    """

    missing_paths: tuple[Path | str, ...]
    broken_sidecars: tuple[tuple[Path | str, str], ...]

    def __init__(
        self,
        message: str,
        *,
        missing_paths: Sequence[Path | str] = (),
        broken_sidecars: Sequence[tuple[Path | str, str]] = (),
    ) -> None:
        super().__init__(message)
        self.missing_paths = tuple(missing_paths)
        self.broken_sidecars = tuple(broken_sidecars)


class ClientClosedError(DeepsetCloudError, RuntimeError):
    """A client was used after `aclose()`/`close()`, or on an event loop other than the one it runs on."""


class DeleteGuardError(ConfigurationError):
    """`sync(delete=True)` planned more deletions than `max_delete` allows; nothing was changed.

    Attributes:
        planned_deletions: how many workspace files the sync would delete.
        remote_files: how many files the workspace holds.
        limit: the most deletions `max_delete` allows for this workspace.
    """

    planned_deletions: int
    remote_files: int
    limit: int

    def __init__(self, message: str, *, planned_deletions: int, remote_files: int, limit: int) -> None:
        super().__init__(message)
        self.planned_deletions = planned_deletions
        self.remote_files = remote_files
        self.limit = limit


class TransportError(DeepsetCloudError):
    """No HTTP response arrived: the connection failed, broke, or timed out.

    Attributes:
        method: HTTP method of the failed request.
        url: URL of the failed request (never with credentials).
    """

    is_retryable = True
    method: str
    url: str

    def __init__(self, message: str, *, method: str = "", url: str = "") -> None:
        super().__init__(message)
        self.method = method
        self.url = url


class ConnectError(TransportError):
    """The connection could not be opened, so the request never reached the server."""


class RequestTimeout(TransportError):
    """The request was sent but no complete response arrived in time."""


class APIError(DeepsetCloudError):
    """The deepset Cloud API answered with a non-success status.

    Attributes:
        status_code: HTTP status of the response.
        method: HTTP method of the request.
        url: URL of the request.
        body: the response body as text (truncated), for diagnostics.
        messages: the server's own error messages, if its body had any.
        request_id: the server's `X-Request-Id`, to quote to support, if it sent one.
        retry_after: the server's requested delay in seconds (`Retry-After`), if it sent one.
    """

    status_code: int
    method: str
    url: str
    body: str
    messages: tuple[str, ...]
    request_id: str | None
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        method: str = "",
        url: str = "",
        body: str = "",
        messages: Sequence[str] = (),
        request_id: str | None = None,
        retry_after: float | None = None,
        is_retryable: bool | None = None,
    ) -> None:
        super().__init__(message, is_retryable=is_retryable)
        self.status_code = status_code
        self.method = method
        self.url = url
        self.body = body
        self.messages = tuple(messages)
        self.request_id = request_id
        self.retry_after = retry_after


class BadRequestError(APIError):
    """400: the API rejected the request as malformed (e.g. an invalid OData filter)."""


class AuthenticationError(APIError):
    """401: the API key is missing, wrong or expired."""


class PermissionDeniedError(APIError):
    """403: the API key is valid but may not access this workspace or resource."""


class NotFoundError(APIError):
    """404: the workspace, file or upload session does not exist."""


class ConflictError(APIError):
    """409: the request conflicts with existing state (e.g. write_mode FAIL and the name exists)."""


class UnprocessableEntityError(APIError):
    """422: the API understood the request but its content is invalid."""


class RateLimitError(APIError):
    """429: too many requests. `retry_after` is the server's requested delay in seconds, if it sent one."""

    is_retryable = True


class ServerError(APIError):
    """5xx: the API failed; usually temporary."""

    is_retryable = True


_BY_STATUS: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    422: UnprocessableEntityError,
    429: RateLimitError,
}


def api_error_class(status_code: int) -> type[APIError]:
    """Return the `APIError` subclass for an HTTP status code."""
    if status_code >= 500:
        return ServerError
    return _BY_STATUS.get(status_code, APIError)


class UploadError(DeepsetCloudError):
    """The storage (S3) leg of an upload failed.

    Attributes:
        file_name: the name of the file whose upload failed.
        s3_code: the S3 error code (e.g. `AccessDenied`, `EntityTooLarge`), or None if there was none.
        status_code: the HTTP status of the storage response, or None if no response arrived.
        retry_after: the storage's requested delay in seconds (`Retry-After`), if it sent one.
    """

    file_name: str
    s3_code: str | None
    status_code: int | None
    retry_after: float | None

    def __init__(
        self,
        message: str,
        *,
        file_name: str,
        s3_code: str | None = None,
        status_code: int | None = None,
        retry_after: float | None = None,
        is_retryable: bool | None = None,
    ) -> None:
        super().__init__(message, is_retryable=is_retryable)
        self.file_name = file_name
        self.s3_code = s3_code
        self.status_code = status_code
        self.retry_after = retry_after


class ResponseValidationError(DeepsetCloudError):
    """A success response did not have the expected shape; the server or the SDK is out of date."""


class OperationTimeoutError(DeepsetCloudError, TimeoutError):
    """A whole operation (a listing, a download, an ingestion wait) did not finish within its `timeout_s`.

    `RequestTimeout` is for one request that got no answer in time; this is for the caller's budget.

    Attributes:
        timeout_s: the budget that ran out, in seconds.
        download_report: for a download, what was saved (and what failed) before the budget ran out.
    """

    timeout_s: float
    download_report: DownloadReport | None

    def __init__(
        self,
        message: str,
        *,
        timeout_s: float,
        upload_report: UploadReport | None = None,
        download_report: DownloadReport | None = None,
    ) -> None:
        super().__init__(message, upload_report=upload_report)
        self.timeout_s = timeout_s
        self.download_report = download_report


class IngestionTimeoutError(OperationTimeoutError):
    """Ingestion did not finish within `timeout_s`. The files were uploaded and may still be ingested.

    Attributes:
        session_ids: the upload sessions that were still ingesting; poll them with `get_upload_session`.
        finished_files: files ingested when the wait ended.
        failed_files: files that failed ingestion when the wait ended.
        expected_files: files the upload expected to be ingested.
    """

    session_ids: tuple[UUID, ...]
    finished_files: int
    failed_files: int
    expected_files: int

    def __init__(
        self,
        message: str,
        *,
        timeout_s: float,
        session_ids: Sequence[UUID],
        finished_files: int,
        failed_files: int,
        expected_files: int,
        upload_report: UploadReport | None = None,
    ) -> None:
        super().__init__(message, timeout_s=timeout_s, upload_report=upload_report)
        self.session_ids = tuple(session_ids)
        self.finished_files = finished_files
        self.failed_files = failed_files
        self.expected_files = expected_files


class SyncFacadeError(DeepsetCloudError, RuntimeError):
    """The sync API was used where it cannot work, e.g. from a callback running on the SDK's own loop."""


class SyncInAsyncContextWarning(UserWarning):
    """A blocking sync call was made from a thread that runs an event loop; prefer the async client there."""
