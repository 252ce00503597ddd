"""deepset-cloud: a fast, safe async and sync SDK for deepset Cloud file workflows.

Async: `from deepset_cloud.async_client import files`; sync: `from deepset_cloud.sync_client import files`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from deepset_cloud.errors import (
    APIError as APIError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    ConfigurationError as ConfigurationError,
    ConflictError as ConflictError,
    ConnectError as ConnectError,
    DeepsetCloudError as DeepsetCloudError,
    IngestionTimeoutError as IngestionTimeoutError,
    NotFoundError as NotFoundError,
    PermissionDeniedError as PermissionDeniedError,
    RateLimitError as RateLimitError,
    RequestTimeout as RequestTimeout,
    ResponseValidationError as ResponseValidationError,
    ServerError as ServerError,
    SyncFacadeError as SyncFacadeError,
    SyncInAsyncContextWarning as SyncInAsyncContextWarning,
    TransportError as TransportError,
    UnprocessableEntityError as UnprocessableEntityError,
    UploadError as UploadError,
)
from deepset_cloud.models import (
    AWSPrefixedRequestConfig as AWSPrefixedRequestConfig,
    DeepsetCloudFile as DeepsetCloudFile,
    DeepsetCloudFileBytes as DeepsetCloudFileBytes,
    File as File,
    FileUploadResult as FileUploadResult,
    IngestionCounts as IngestionCounts,
    SkippedFile as SkippedFile,
    UploadReport as UploadReport,
    UploadSession as UploadSession,
    UploadSessionDetail as UploadSessionDetail,
    UploadSessionIngestionStatus as UploadSessionIngestionStatus,
    UploadSessionStatus as UploadSessionStatus,
    UploadSessionStatusEnum as UploadSessionStatusEnum,
    UserInfo as UserInfo,
    WriteMode as WriteMode,
)

try:
    __version__ = version("deepset-cloud")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without metadata
    __version__ = "0.0.0"

__all__ = [
    "APIError",
    "AWSPrefixedRequestConfig",
    "AuthenticationError",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "DeepsetCloudError",
    "DeepsetCloudFile",
    "DeepsetCloudFileBytes",
    "File",
    "FileUploadResult",
    "IngestionCounts",
    "IngestionTimeoutError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestTimeout",
    "ResponseValidationError",
    "ServerError",
    "SkippedFile",
    "SyncFacadeError",
    "SyncInAsyncContextWarning",
    "TransportError",
    "UnprocessableEntityError",
    "UploadError",
    "UploadReport",
    "UploadSession",
    "UploadSessionDetail",
    "UploadSessionIngestionStatus",
    "UploadSessionStatus",
    "UploadSessionStatusEnum",
    "UserInfo",
    "WriteMode",
    "__version__",
]
