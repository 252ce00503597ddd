"""deepset-cloud: a fast, safe async and sync SDK for deepset Cloud file workflows.

Async: `from deepset_cloud.async_client import files`; sync: `from deepset_cloud.sync_client import files`.
"""

from __future__ import annotations

import importlib
import logging
from typing import TYPE_CHECKING

from deepset_cloud._config import DEFAULT_WORKSPACE_NAME as DEFAULT_WORKSPACE_NAME
from deepset_cloud._version import __version__ as __version__
from deepset_cloud.errors import (
    APIError as APIError,
    AuthenticationError as AuthenticationError,
    BadRequestError as BadRequestError,
    ClientClosedError as ClientClosedError,
    ConfigurationError as ConfigurationError,
    ConflictError as ConflictError,
    ConnectError as ConnectError,
    DeepsetCloudError as DeepsetCloudError,
    DeleteGuardError as DeleteGuardError,
    IngestionTimeoutError as IngestionTimeoutError,
    NotFoundError as NotFoundError,
    OperationTimeoutError as OperationTimeoutError,
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
    DeletedFile as DeletedFile,
    DeleteReport as DeleteReport,
    DownloadReport as DownloadReport,
    FailedDelete as FailedDelete,
    FailedDownload as FailedDownload,
    FailedMetaUpdate as FailedMetaUpdate,
    File as File,
    FileUploadResult as FileUploadResult,
    IngestionCounts as IngestionCounts,
    IngestionFailure as IngestionFailure,
    MetaUpdateReport as MetaUpdateReport,
    PlannedChange as PlannedChange,
    SkippedFile as SkippedFile,
    SyncFailure as SyncFailure,
    SyncReport as SyncReport,
    UploadReport as UploadReport,
    UploadSession as UploadSession,
    UploadSessionDetail as UploadSessionDetail,
    UploadSessionIngestionStatus as UploadSessionIngestionStatus,
    UploadSessionStatus as UploadSessionStatus,
    UploadSessionStatusEnum as UploadSessionStatusEnum,
    UserInfo as UserInfo,
    WriteMode as WriteMode,
)

if TYPE_CHECKING:
    from deepset_cloud._retry import RetryPolicy as RetryPolicy
    from deepset_cloud.async_client.client import AsyncClient as AsyncClient
    from deepset_cloud.sync_client.client import Client as Client

# The clients pull in aiohttp, cattrs and backoff (~0.3 s). Loading them on first use keeps
# `import deepset_cloud` cheap for the models and errors, and for the pytest plugin `deepset_cloud.testing`,
# which every pytest run loads once this package is installed.
_LAZY_EXPORTS = {
    "AsyncClient": "deepset_cloud.async_client.client",
    "Client": "deepset_cloud.sync_client.client",
    "RetryPolicy": "deepset_cloud._retry",
}


def __getattr__(name: str) -> object:
    module = _LAZY_EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_EXPORTS})


# A library never configures logging; applications attach handlers to "deepset_cloud".
logging.getLogger("deepset_cloud").addHandler(logging.NullHandler())

__all__ = [
    "APIError",
    "AWSPrefixedRequestConfig",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "ClientClosedError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "DEFAULT_WORKSPACE_NAME",
    "DeepsetCloudError",
    "DeepsetCloudFile",
    "DeepsetCloudFileBytes",
    "DeleteGuardError",
    "DeleteReport",
    "DeletedFile",
    "DownloadReport",
    "FailedDelete",
    "FailedDownload",
    "FailedMetaUpdate",
    "File",
    "FileUploadResult",
    "IngestionCounts",
    "IngestionFailure",
    "IngestionTimeoutError",
    "MetaUpdateReport",
    "NotFoundError",
    "OperationTimeoutError",
    "PermissionDeniedError",
    "PlannedChange",
    "RateLimitError",
    "RequestTimeout",
    "ResponseValidationError",
    "RetryPolicy",
    "ServerError",
    "SkippedFile",
    "SyncFacadeError",
    "SyncFailure",
    "SyncInAsyncContextWarning",
    "SyncReport",
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
