"""Handlers for files (E1 list, E2 direct upload, E3 download, E4 meta, E10 delete, meta update), workspaces."""

from __future__ import annotations

import contextlib
import json
import uuid
from json.encoder import encode_basestring_ascii as quote_json
from pathlib import Path
from urllib.parse import parse_qsl

from aiohttp import web

from deepset_cloud.emulator.http.errors import raise_api_error
from deepset_cloud.emulator.http.params import int_param, write_mode_param
from deepset_cloud.emulator.odata.parse import ODataFilterError
from deepset_cloud.emulator.s3.multipart import MultipartError, PartTooLarge, parse_multipart
from deepset_cloud.emulator.state import STATE, EmulatorState
from deepset_cloud.emulator.storage.blobs import INLINE_MAX_BYTES
from deepset_cloud.emulator.storage.listing import FileQuery, ListedFile
from deepset_cloud.emulator.storage.records import FileRow
from deepset_cloud.emulator.timestamps import TimestampStyle, format_us, parse_to_us

__all__ = [
    "create_workspace",
    "delete_file",
    "delete_workspace",
    "direct_upload",
    "download",
    "download_meta",
    "list_files",
    "update_meta",
]

_MAX_LIST_LIMIT = 10_000


async def list_files(request: web.Request) -> web.Response:
    """E1 `GET files`: cursor pagination in (created_at, file_id) ascending order."""
    state = request.app[STATE]
    workspace = state.workspace(request.match_info["workspace"])
    query = request.query
    after: tuple[int, str] | None = None
    after_value = query.get("after_value")
    if after_value is not None:
        try:
            after = (parse_to_us(after_value), query.get("after_file_id", ""))
        except ValueError:
            raise_api_error(400, f"after_value {after_value!r} is not an ISO 8601 datetime.")
    lag_s = state.config.search_index_lag_s
    file_query = FileQuery(
        workspace=workspace,
        limit=int_param(query, "limit", default=10, minimum=1, maximum=_MAX_LIST_LIMIT),
        name=query.get("name", ""),
        content=query.get("content", ""),
        odata=query.get("filter", ""),
        # searches go through a lagging index
        indexed_before_us=state.clock.now_us() - int(lag_s * 1_000_000) if lag_s > 0 else None,
        after=after,
    )
    try:
        total, page, has_more = state.store.list_files(file_query)
    except ODataFilterError as exc:
        raise_api_error(400, str(exc))  # says what is wrong and where
    return web.Response(
        text=_page_json(workspace, total, page, has_more, state.config.timestamp_style),
        content_type="application/json",
    )


def _page_json(
    workspace: str, total: int, page: list[ListedFile], has_more: bool, style: TimestampStyle
) -> str:
    """The E1 response text, written directly: a page of 1,000 files is a hot path of the benchmarks.

    Each file's meta is stored as the JSON text of an object (`json.dumps`), so it is spliced in as is;
    strings are escaped like `json.dumps` does.
    """
    url = quote_json(f"/api/v1/workspaces/{workspace}/files/")[:-1]  # without its closing quote
    items = ",".join(
        [
            f'{{"file_id":"{file_id}","url":{url}{file_id}","name":{quote_json(name)},"size":{size},'
            f'"created_at":"{format_us(created_us, style)}","meta":{meta},"characters":0,"languages":null}}'
            for file_id, name, size, created_us, meta in page
        ]
    )
    return f'{{"total":{total},"has_more":{"true" if has_more else "false"},"data":[{items}]}}'


async def direct_upload(request: web.Request) -> web.Response:
    """E2 `POST files`: multipart `file` + `meta`, or legacy `text` + `file_name` (multipart or urlencoded)."""
    state = request.app[STATE]
    workspace = state.workspace(request.match_info["workspace"])
    write_mode = write_mode_param(request.query.get("write_mode", "KEEP"))
    blobs = state.store.blobs
    limit = state.config.max_direct_upload_bytes
    fields: dict[str, str] = {}
    spooled: list[Path] = []  # spool files this request owns until adopted
    blob: str | None = None
    data: bytes | None = None
    try:
        if request.content_type == "multipart/form-data":
            try:
                form = await parse_multipart(
                    request.content,
                    request.headers.get("Content-Type", ""),
                    spool_dir=blobs.spool_dir,
                    max_file_bytes=limit,
                    max_field_bytes=limit,
                    max_parts=16,
                    memory_file_bytes=INLINE_MAX_BYTES,
                )
            except PartTooLarge as exc:
                raise_api_error(413, f"Request entity too large: {exc} (limit {limit} bytes).")
            except MultipartError as exc:
                raise_api_error(400, f"Malformed multipart/form-data body: {exc}")
            spooled = [f.path for f in form.files if f.path is not None]
            fields = dict(form.fields)
            file_part = next((f for f in form.files if f.field_name == "file"), None)
        elif request.content_type == "application/x-www-form-urlencoded":
            fields = dict(parse_qsl((await _read_limited(request, limit)).decode(), keep_blank_values=True))
            file_part = None
        else:
            raise_api_error(
                415,
                "Expected a multipart/form-data body (file, meta) or a form with the fields text and meta.",
            )
        meta_json = _meta_from_field(fields.get("meta"))
        if file_part is not None:
            name = file_part.filename or request.query.get("file_name", "")
            size = file_part.size
            data = file_part.data
        elif "text" in fields:
            name = request.query.get("file_name", "")
            data = fields["text"].encode()
            size = len(data)
        else:
            raise_api_error(400, "The form has no 'file' part and no 'text' field.")
        if not name:
            raise_api_error(400, "The file has no name: send a filename in the 'file' part or file_name=.")
        if file_part is not None and file_part.path is not None:
            spooled.remove(file_part.path)
            blob = blobs.adopt(file_part.path)
        elif data is not None and len(data) > INLINE_MAX_BYTES:
            blob, data = blobs.write(data), None
        try:
            file_id = _insert_with_write_mode(state, workspace, name, size, meta_json, blob, data, write_mode)
        except BaseException:
            blobs.delete([blob])
            raise
    finally:
        for path in spooled:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return web.json_response({"file_id": file_id}, status=201)


def _insert_with_write_mode(
    state: EmulatorState,
    workspace: str,
    name: str,
    size: int,
    meta_json: str,
    blob: str | None,
    data: bytes | None,
    write_mode: str,
) -> str:
    store = state.store
    replaced: list[str | None] = []
    with store.transaction():
        if write_mode == "FAIL" and store.name_exists(workspace, name):
            raise_api_error(
                409, f"A file named {name!r} already exists in workspace {workspace!r} (write_mode=FAIL)."
            )
        if write_mode == "OVERWRITE":
            replaced = store.delete_files_named(workspace, name)
        file_id = store.insert_file(workspace, name, size, meta_json, blob, data)
    store.blobs.delete(replaced)
    return file_id


def _meta_from_field(value: str | None) -> str:
    """The `meta` form field as canonical JSON object text; `null`, empty and missing mean `{}`."""
    if value is None or not value.strip():
        return "{}"
    try:
        meta = json.loads(value)
    except json.JSONDecodeError as exc:
        raise_api_error(400, f"The meta field is not valid JSON: {exc}")
    if meta is None:
        return "{}"
    if not isinstance(meta, dict):
        raise_api_error(400, f"The meta field must be a JSON object, got {type(meta).__name__}.")
    return json.dumps(meta, ensure_ascii=False)


async def _read_limited(request: web.Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > limit:
            raise_api_error(413, f"Request entity too large (limit {limit} bytes).")
        chunks.append(chunk)
    return b"".join(chunks)


def _file_or_404(state: EmulatorState, request: web.Request, *, with_data: bool) -> FileRow:
    workspace = state.workspace(request.match_info["workspace"])
    file_id = request.match_info["file_id"]
    found = state.store.get_file(workspace, file_id, with_data=with_data)
    if found is None:
        raise_api_error(404, f"File {file_id} not found in workspace {workspace!r}.")
    return found


async def download(request: web.Request) -> web.StreamResponse:
    """E3 `GET files/{id}`: the raw bytes, inline or streamed from the blob file (no redirect)."""
    state = request.app[STATE]
    found = _file_or_404(state, request, with_data=True)
    if found.data is not None:
        return web.Response(body=found.data, content_type="application/octet-stream")
    assert found.blob is not None
    return web.FileResponse(
        state.store.blobs.path(found.blob), headers={"Content-Type": "application/octet-stream"}
    )


async def download_meta(request: web.Request) -> web.Response:
    """E4 `GET files/{id}/meta`: the file's metadata object."""
    state = request.app[STATE]
    found = _file_or_404(state, request, with_data=False)
    return web.Response(text=found.meta_json, content_type="application/json")


async def delete_file(request: web.Request) -> web.Response:
    """E10 `DELETE files/{id}`: 204, or 404 if there is no such file."""
    state = request.app[STATE]
    workspace = state.workspace(request.match_info["workspace"])
    file_id = request.match_info["file_id"]
    if not state.store.delete_file(workspace, file_id):
        raise_api_error(404, f"File {file_id} not found in workspace {workspace!r}.")
    return web.Response(status=204)


_MAX_UPDATE_META_BYTES = 64 * 2**20


async def update_meta(request: web.Request) -> web.Response:
    """`POST files/update-meta` `{file_id: {key: value}}`: merge into each file's meta -> 200.

    A value of `"None"` (documented) or JSON null (an emulator extension) removes the key. The body is
    validated as a whole first (422, nothing changed); unknown file ids are listed in `failed_files` while
    the other files are updated.
    """
    state = request.app[STATE]
    workspace = state.workspace(request.match_info["workspace"])
    raw = await _read_limited(request, _MAX_UPDATE_META_BYTES)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise_api_error(400, f"The request body is not valid JSON: {exc}")
    if not isinstance(body, dict):
        raise_api_error(422, "The body must be a JSON object mapping file ids to metadata objects.")
    changes: dict[str, dict[str, object]] = {}
    for file_id, patch in body.items():
        try:
            canonical = str(uuid.UUID(file_id))
        except ValueError:
            raise_api_error(422, f"{file_id!r} is not a file id (a UUID).")
        if not isinstance(patch, dict):
            raise_api_error(422, f"The metadata of file {file_id} must be a JSON object.")
        changes[canonical] = {k: None if v == "None" else v for k, v in patch.items()}
    missing = state.store.update_meta(workspace, changes)
    failed = [
        {
            "file_id": file_id,
            "error_type": "FILE_NOT_FOUND",
            "error_message": f"File {file_id} not found in workspace {workspace!r}.",
        }
        for file_id in missing
    ]
    return web.json_response({"failed_count": len(failed), "failed_files": failed})


async def create_workspace(request: web.Request) -> web.Response:
    """`POST /workspaces` `{"name"}`: 201, or 409 if it exists."""
    state = request.app[STATE]
    try:
        body = await request.json()
    except ValueError:
        raise_api_error(400, 'The body must be JSON like {"name": "my-workspace"}.')
    name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name.strip() or "/" in name:
        raise_api_error(400, "'name' must be a non-empty string without '/'.")
    if not state.store.create_workspace(name):
        raise_api_error(409, f"Workspace {name!r} already exists.")
    return web.json_response({"name": name}, status=201)


async def delete_workspace(request: web.Request) -> web.Response:
    """`DELETE /workspaces/{name}`: deletes its files and sessions; 204, or 404."""
    state = request.app[STATE]
    name = request.match_info["workspace"]
    state.ingestor.forget_workspace(name)
    if not state.store.delete_workspace(name):
        raise_api_error(404, f"Workspace {name!r} not found.")
    return web.Response(status=204)
