"""The S3-style presigned POST endpoint (E6): one object per request, answered like S3 would.

Hot path (thousands of posts per second): a small object is parsed into memory and stored inline in one
group-committed SQLite row (no file is created); a large one is streamed straight into a file inside the
blob folder (no copy, no rename). The policy check is cached per session. Errors answer S3-shaped XML.
"""

from __future__ import annotations

import contextlib
import os
from xml.sax.saxutils import escape

import attrs
from aiohttp import web

from deepset_cloud.emulator.s3.multipart import FilePart, MultipartError, PartTooLarge, parse_multipart
from deepset_cloud.emulator.s3.policy import (
    FILENAME_VARIABLE,
    S3Error,
    entity_too_large,
    s3_error_response,
    verify_presigned_form,
)
from deepset_cloud.emulator.state import STATE, EmulatorState
from deepset_cloud.emulator.storage.blobs import INLINE_MAX_BYTES
from deepset_cloud.emulator.storage.records import META_SUFFIX, SessionFullError

__all__ = ["MAX_FIELD_BYTES", "Accepted", "accept_object", "post_response_xml", "s3_post", "storage_post"]

MAX_FIELD_BYTES = 64 * 1024
_POST_RESPONSE = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<PostResponse><Location>{location}</Location>'
    '<Bucket>user-files-upload</Bucket><Key>{key}</Key><ETag>"emulated"</ETag></PostResponse>'
)


async def s3_post(request: web.Request) -> web.StreamResponse:
    """`POST /_s3/user-files-upload/`: store the `file` part under the signed key prefix; 204 No Content."""
    return await storage_post(request.app[STATE], request)


async def storage_post(state: EmulatorState, request: web.Request) -> web.StreamResponse:
    """`s3_post` for the emulator `state` (the server's short path calls it without the router)."""
    store = state.store
    max_bytes = state.config.max_object_bytes
    shard_dir, shard = store.blobs.next_shard()
    try:
        form = await parse_multipart(
            request.content,
            request.headers.get("Content-Type", ""),
            spool_dir=shard_dir,
            max_file_bytes=max_bytes,
            max_field_bytes=MAX_FIELD_BYTES,
            memory_file_bytes=INLINE_MAX_BYTES,
            content_length=request.content_length,
        )
    except PartTooLarge as exc:
        if exc.is_file:
            return s3_error_response(entity_too_large(max_bytes), request.path)
        message = f"Your POST request fields are too large: {exc}"
        return s3_error_response(S3Error("MaxPostPreDataLengthExceeded", message, 400), request.path)
    except MultipartError as exc:
        message = f"The body of your POST request is not well-formed multipart/form-data: {exc}"
        return s3_error_response(S3Error("MalformedPOSTRequest", message, 400), request.path)
    try:
        if form.fields_after_files:  # S3 ignores fields after the file: a client bug worth reporting
            message = "The file part must be the last part of the form; fields after it would be ignored."
            raise S3Error("InvalidArgument", message, 400)
        accepted = accept_object(state, form.fields, form.files, shard)
    except BaseException as exc:
        for part in form.files:  # nothing of a rejected post stays in the blob folder
            if part.path is not None:  # None: kept in memory (parse_multipart's memory_file_bytes)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(part.path)
        if isinstance(exc, S3Error):
            return s3_error_response(exc, request.path)
        raise
    await store.committed()  # acknowledge only what a crash cannot take back
    if accepted.status == 201:
        location = f"{request.scheme}://{request.host}{request.path}{accepted.key}"
        body = post_response_xml(location, accepted.key)
        return web.Response(status=201, text=body, content_type="application/xml")
    return web.Response(status=accepted.status)


@attrs.frozen
class Accepted:
    """A stored object: its full key and the status S3 answers with (`success_action_status`)."""

    key: str
    status: int


def post_response_xml(location: str, key: str) -> str:
    """The XML body S3 answers a post with when `success_action_status` is 201."""
    return _POST_RESPONSE.format(location=escape(location), key=escape(key))


def accept_object(
    state: EmulatorState, field_list: list[tuple[str, str]], files: list[FilePart], shard: str
) -> Accepted:
    """Check a parsed post against its policy and session and store its object (not yet committed).

    Raises:
        S3Error: The post is refused; nothing was stored.
    """
    if len(files) != 1 or files[0].field_name != "file":
        raise S3Error(
            "InvalidArgument",
            "POST requires exactly one file upload per request, in a part named 'file'.",
            400,
        )
    part = files[0]
    now = state.clock.now_us()
    grant = verify_presigned_form(state.s3_secret, field_list, now_us=now)
    fields = dict(field_list)
    key = fields.get("key", "")
    if FILENAME_VARIABLE in key:
        if not part.filename:
            raise S3Error(
                "InvalidArgument", "The key uses ${filename} but the file part has no filename.", 400
            )
        key = key.replace(FILENAME_VARIABLE, part.filename)
    prefix = grant.key_prefix
    if not key.startswith(prefix) or len(key) == len(prefix):
        condition = f'["starts-with", "$key", "{prefix}"]'
        raise S3Error(
            "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}", 403
        )
    if part.size > grant.max_bytes:
        raise entity_too_large(grant.max_bytes, part.size)
    workspace, _, session_id = prefix.rstrip("/").rpartition("/")
    store = state.store
    record = store.sessions.get(session_id)
    if record is None or record.workspace != workspace:
        message = f"Upload session {session_id} does not exist (or its workspace was deleted)."
        raise S3Error("AccessDenied", message, 403)
    status = record.status(now)
    if status == "EXPIRED":
        raise S3Error("AccessDenied", "Invalid according to Policy: Policy expired.", 403)
    if status == "CLOSED":
        message = f"Upload session {session_id} is closed; objects posted now would never be ingested."
        raise S3Error("AccessDenied", message, 403)
    name = key[len(prefix) :]
    blob = None if part.path is None else f"blobs/{shard}/{part.path.name}"  # the spool file is the blob
    try:
        replaced = store.put_object(
            session_id,
            name,
            part.size,
            blob=blob,
            data=part.data,
            is_meta=name.endswith(META_SUFFIX),
            max_objects=state.config.max_files_per_session,
        )
    except SessionFullError as exc:
        message = f"Upload session {session_id} is full: {exc} (max_files_per_session)."
        raise S3Error("AccessDenied", message, 403) from None
    if replaced is not None:
        store.blobs.delete([replaced])
    state.stats.s3_objects_received += 1
    success = fields.get("success_action_status")
    return Accepted(key, 201 if success == "201" else 200 if success == "200" else 204)
