"""Sync Django views that call the deepset Cloud sync facade, as a user's project would.

No credentials are passed: the facade resolves `API_KEY`, `API_URL` and `DEFAULT_WORKSPACE_NAME` when it is
called. Under WSGI the views run in the server's threads; under ASGI Django runs them in worker threads
(`sync_to_async(thread_sensitive=True)`), where no event loop is running.
"""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest, JsonResponse

from deepset_cloud.errors import BadRequestError, ConfigurationError, DeepsetCloudError
from deepset_cloud.models import DeepsetCloudFile, UploadReport
from deepset_cloud.sync_client import files as deepset_files

_INGESTION_TIMEOUT_S = 60
_NO_LIMIT = 10**9


class _BadRequest(ValueError):
    """The request body or query does not have the documented shape."""


def upload_texts(request: HttpRequest) -> JsonResponse:
    """POST `{"files": [{"name", "text", "meta"}], "blocking": true}`: upload the texts, answer the counts."""
    if request.method != "POST":
        return _error(405, "use POST", allow="POST")
    try:
        files, blocking = _parse_upload(request.body)
    except _BadRequest as exc:
        return _error(400, str(exc))
    try:
        report = deepset_files.upload_texts(
            files, blocking=blocking, timeout_s=_INGESTION_TIMEOUT_S, show_progress=False
        )
    except (ConfigurationError, BadRequestError) as exc:
        return _error(400, str(exc))
    except DeepsetCloudError as exc:
        return _error(502, f"{type(exc).__name__}: {exc}")
    return JsonResponse(_report_json(report))


def list_files(request: HttpRequest) -> JsonResponse:
    """GET `?odata_filter=&name=&batch_size=&limit=`: list files as `{"count", "files": [{"name", "meta"}]}`.

    With `limit`, the view stops iterating once it has that many files, as a paginated page would; leaving
    the facade's iterator early must not fetch the remaining pages.
    """
    if request.method != "GET":
        return _error(405, "use GET", allow="GET")
    try:
        batch_size = _parse_positive(request.GET.get("batch_size", "100"), "batch_size")
        limit = _parse_positive(request.GET.get("limit", str(_NO_LIMIT)), "limit")
    except _BadRequest as exc:
        return _error(400, str(exc))
    listed: list[dict[str, Any]] = []
    try:
        for page in deepset_files.list_files(
            odata_filter=request.GET.get("odata_filter") or None,
            name=request.GET.get("name") or None,
            batch_size=batch_size,
        ):
            listed.extend({"name": file.name, "meta": file.meta} for file in page[: limit - len(listed)])
            if len(listed) >= limit:
                break
    except (ConfigurationError, BadRequestError) as exc:
        return _error(400, str(exc))
    except DeepsetCloudError as exc:
        return _error(502, f"{type(exc).__name__}: {exc}")
    return JsonResponse({"count": len(listed), "files": listed})


def _parse_upload(body: bytes) -> tuple[list[DeepsetCloudFile], bool]:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _BadRequest(f"body is not JSON: {exc}") from None
    if not isinstance(payload, dict) or not isinstance(payload.get("files"), list):
        raise _BadRequest('body must be an object with a "files" list')
    blocking = payload.get("blocking", True)
    if not isinstance(blocking, bool):
        raise _BadRequest('"blocking" must be true or false')
    files = [_parse_file(index, item) for index, item in enumerate(payload["files"])]
    return files, blocking


def _parse_file(index: int, item: object) -> DeepsetCloudFile:
    if not isinstance(item, dict):
        raise _BadRequest(f"files[{index}] must be an object")
    name, text, meta = item.get("name"), item.get("text"), item.get("meta")
    if not isinstance(name, str) or not isinstance(text, str):
        raise _BadRequest(f'files[{index}] needs string "name" and "text"')
    if meta is not None and not isinstance(meta, dict):
        raise _BadRequest(f'files[{index}] "meta" must be an object or null')
    return DeepsetCloudFile(text=text, name=name, meta=meta)


def _parse_positive(raw: str, label: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise _BadRequest(f"{label} must be an integer, got {raw!r}") from None
    if value < 1:
        raise _BadRequest(f"{label} must be at least 1, got {value}")
    return value


def _report_json(report: UploadReport) -> dict[str, Any]:
    ingestion = report.ingestion
    return {
        "total_files": report.total_files,
        "successful_upload_count": report.successful_upload_count,
        "failed_upload_count": report.failed_upload_count,
        "failed": [result.file_name for result in report.failed],
        "session_count": len(report.session_ids),
        "ingestion": None
        if ingestion is None
        else {"finished_files": ingestion.finished_files, "failed_files": ingestion.failed_files},
    }


def _error(status: int, message: str, *, allow: str | None = None) -> JsonResponse:
    response = JsonResponse({"errors": [message]}, status=status)
    if allow is not None:
        response["Allow"] = allow
    return response
