"""Handlers for upload sessions: E5 create, E7 close, E8 status, E9 list, E11 per-file status."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from deepset_cloud.emulator.http.errors import raise_api_error
from deepset_cloud.emulator.http.params import bool_param, int_param, write_mode_param
from deepset_cloud.emulator.s3.policy import make_presigned_fields
from deepset_cloud.emulator.state import DOCUMENTATION_URL, S3_PREFIX, STATE, EmulatorState, user_id_for_key
from deepset_cloud.emulator.storage.records import SessionRecord
from deepset_cloud.emulator.timestamps import format_us

__all__ = ["close_session", "create_session", "list_sessions", "session_files", "session_status"]

_INGESTION_STATUSES = ("PENDING", "FAILED", "FINISHED")


async def _json_object(request: web.Request) -> dict[str, Any]:
    """The request body as a JSON object; an empty body is `{}`."""
    raw = await request.read()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise_api_error(400, f"The request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        raise_api_error(400, "The request body must be a JSON object.")
    return body


async def create_session(request: web.Request) -> web.Response:
    """E5 `POST upload_sessions` -> 201 with the presigned POST config for the session's objects."""
    state = request.app[STATE]
    workspace = state.workspace(request.match_info["workspace"])
    body = await _json_object(request)
    write_mode = write_mode_param(body.get("write_mode", "KEEP"))
    parallel = body.get("parallel_processing_enabled", False)
    if not isinstance(parallel, bool):
        raise_api_error(400, "parallel_processing_enabled must be a boolean.")
    config = state.config
    now = state.clock.now_us()
    api_key = state.authorized_api_key(request) or ""
    user_id = user_id_for_key(api_key)
    by_account = config.open_session_scope == "account"
    open_sessions = sum(
        1
        for s in state.store.sessions.values()
        if (s.user_id == user_id if by_account else s.workspace == workspace) and s.status(now) == "OPEN"
    )
    if open_sessions >= config.max_open_sessions:
        holder = "Your account" if by_account else f"Workspace {workspace!r}"
        raise_api_error(
            409,
            f"{holder} already has {open_sessions} open upload sessions (limit "
            f"{config.max_open_sessions}); close one or wait until it expires.",
        )
    record = SessionRecord(
        session_id=str(uuid.uuid4()),
        workspace=workspace,
        write_mode=write_mode,
        parallel=parallel,
        user_id=user_id,
        created_us=now,
        expires_us=now + int(config.session_ttl_s * 1_000_000),
        closed_us=None,
        ingest="NONE",
        finished=0,
        failed=0,
    )
    state.store.create_session(record)
    fields = make_presigned_fields(
        state.s3_secret,
        f"{workspace}/{record.session_id}/",
        datetime.fromtimestamp(record.expires_us / 1_000_000, tz=timezone.utc),
        config.max_object_bytes,
    )
    return web.json_response(
        {
            "session_id": record.session_id,
            "documentation_url": DOCUMENTATION_URL,
            "expires_at": format_us(record.expires_us, config.timestamp_style),
            "aws_prefixed_request_config": {
                "url": f"{request.scheme}://{request.host}{S3_PREFIX}",
                "fields": fields,
            },
        },
        status=201,
    )


def _session_or_404(state: EmulatorState, request: web.Request) -> SessionRecord:
    workspace = state.workspace(request.match_info["workspace"])
    session_id = request.match_info["session_id"]
    record = state.store.sessions.get(session_id)
    if record is None or record.workspace != workspace:
        raise_api_error(404, f"Upload session {session_id} not found in workspace {workspace!r}.")
    return record


async def close_session(request: web.Request) -> web.Response:
    """E7 `PUT upload_sessions/{id}` `{"status": "CLOSED"}` -> 204; ingestion starts after ingest_delay_s.

    Closing a session that is already closed or has expired answers 409 Conflict.
    """
    state = request.app[STATE]
    record = _session_or_404(state, request)
    body = await _json_object(request)
    if body.get("status", "CLOSED") != "CLOSED":
        raise_api_error(400, f'Only {{"status": "CLOSED"}} is supported, got {body.get("status")!r}.')
    status = record.status(state.clock.now_us())
    if status == "CLOSED":
        raise_api_error(409, f"Upload session {record.session_id} is already closed.")
    if status == "EXPIRED":
        raise_api_error(
            409, f"Upload session {record.session_id} has expired; its files will not be ingested."
        )
    record.closed_us = state.clock.now_us()
    record.ingest = "PENDING"
    state.store.update_session(record)  # commits the session's group-committed objects too
    state.ingestor.schedule(record.session_id, state.config.ingest_delay_s)
    return web.Response(status=204)


async def session_status(request: web.Request) -> web.Response:
    """E8 `GET upload_sessions/{id}`: ingestion counts of raw files (sidecars are not counted)."""
    state = request.app[STATE]
    record = _session_or_404(state, request)
    return web.json_response(
        {
            "session_id": record.session_id,
            "expires_at": format_us(record.expires_us, state.config.timestamp_style),
            "documentation_url": DOCUMENTATION_URL,
            "ingestion_status": {"failed_files": record.failed, "finished_files": record.finished},
        }
    )


async def list_sessions(request: web.Request) -> web.Response:
    """E9 `GET upload_sessions`: page pagination, oldest first; `is_expired` filters on expires_at."""
    state = request.app[STATE]
    workspace = state.workspace(request.match_info["workspace"])
    query = request.query
    limit = int_param(query, "limit", default=10, minimum=1, maximum=1000)
    page = int_param(query, "page_number", default=1, minimum=1, maximum=10**9)
    is_expired = bool_param(query, "is_expired")
    now = state.clock.now_us()
    records = sorted(
        (
            s
            for s in state.store.sessions.values()
            if s.workspace == workspace and (is_expired is None or (now >= s.expires_us) == is_expired)
        ),
        key=lambda s: (s.created_us, s.session_id),
    )
    start = (page - 1) * limit
    style = state.config.timestamp_style
    data = [
        {
            "session_id": s.session_id,
            "created_by": {"user_id": s.user_id, "given_name": "Local", "family_name": "Emulator"},
            "created_at": format_us(s.created_us, style),
            "expires_at": format_us(s.expires_us, style),
            "write_mode": s.write_mode,
            "status": s.status(now),
        }
        for s in records[start : start + limit]
    ]
    return web.json_response({"total": len(records), "has_more": start + limit < len(records), "data": data})


async def session_files(request: web.Request) -> web.Response:
    """E11 `GET upload_sessions/{id}/files`: per-file ingestion status and failure reason."""
    state = request.app[STATE]
    record = _session_or_404(state, request)
    query = request.query
    limit = int_param(query, "limit", default=10, minimum=1, maximum=10_000)
    page = int_param(query, "page_number", default=1, minimum=1, maximum=10**9)
    wanted = query.get("ingestion_status")
    if wanted and wanted.upper() not in _INGESTION_STATUSES:
        raise_api_error(400, f"ingestion_status must be one of {', '.join(_INGESTION_STATUSES)}.")
    total, rows = state.store.object_statuses(
        record.session_id, status=wanted.upper() if wanted else None, limit=limit, offset=(page - 1) * limit
    )
    data = [
        {
            "file_ingestion_id": row.ingestion_id,
            "ingestion_status": row.status,
            "ingestion_status_reason": row.reason,
            "name": row.name,
        }
        for row in rows
    ]
    return web.json_response(
        {"total": total, "has_more": (page - 1) * limit + len(data) < total, "data": data}
    )
