"""The aiohttp application: routes, and one middleware for stats, faults, auth and error bodies."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from deepset_cloud.emulator.http import admin as _admin, files as _api_files, sessions as _api_sessions
from deepset_cloud.emulator.http.errors import ApiError, api_error_response
from deepset_cloud.emulator.s3 import endpoint as _s3_endpoint
from deepset_cloud.emulator.s3.policy import S3Error, s3_error_response
from deepset_cloud.emulator.state import S3_PREFIX, STATE, EmulatorState, token_matches

__all__ = ["FAULT_ROUTES", "make_app", "serve_storage_posts_directly"]

_Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_WS = "/api/v1/workspaces/{workspace}"
# (method, path, handler, route name); the route name keys stats and fault injection.
_ROUTES: list[tuple[str, str, _Handler, str]] = [
    ("GET", f"{_WS}/files", _api_files.list_files, "list_files"),
    ("POST", f"{_WS}/files", _api_files.direct_upload, "direct_upload"),
    ("POST", f"{_WS}/files/update-meta", _api_files.update_meta, "update_meta"),
    ("GET", f"{_WS}/files/{{file_id}}", _api_files.download, "download"),
    ("GET", f"{_WS}/files/{{file_id}}/meta", _api_files.download_meta, "download_meta"),
    ("DELETE", f"{_WS}/files/{{file_id}}", _api_files.delete_file, "delete_file"),
    ("POST", f"{_WS}/upload_sessions", _api_sessions.create_session, "create_session"),
    ("GET", f"{_WS}/upload_sessions", _api_sessions.list_sessions, "list_sessions"),
    ("PUT", f"{_WS}/upload_sessions/{{session_id}}", _api_sessions.close_session, "close_session"),
    ("GET", f"{_WS}/upload_sessions/{{session_id}}", _api_sessions.session_status, "session_status"),
    ("GET", f"{_WS}/upload_sessions/{{session_id}}/files", _api_sessions.session_files, "session_files"),
    ("POST", "/api/v1/workspaces", _api_files.create_workspace, "create_workspace"),
    ("DELETE", "/api/v1/workspaces/{workspace}", _api_files.delete_workspace, "delete_workspace"),
    ("POST", S3_PREFIX, _s3_endpoint.s3_post, "s3_post"),
    ("POST", S3_PREFIX.rstrip("/"), _s3_endpoint.s3_post, "s3_post"),
    ("GET", "/_emulator/stats", _admin.get_stats, "admin_stats"),
    ("GET", "/_emulator/faults", _admin.get_faults, "admin_faults"),
    ("POST", "/_emulator/faults", _admin.set_faults, "admin_faults"),
    ("DELETE", "/_emulator/faults", _admin.clear_faults, "admin_faults"),
    ("GET", "/_emulator/config", _admin.get_config, "admin_config"),
    ("PATCH", "/_emulator/config", _admin.patch_config, "admin_config"),
    ("POST", "/_emulator/reset", _admin.reset, "admin_reset"),
]

_ROUTE_NAMES: dict[_Handler, str] = {handler: name for _m, _p, handler, name in _ROUTES}

FAULT_ROUTES: dict[str, str] = {
    "create_session": "create_session",
    "close_session": "close_session",
    "session_status": "session_status",
    "list_sessions": "list_sessions",
    "list_files": "list_files",
    "direct_upload": "direct_upload",
    "download": "download",
    "download_meta": "download",  # the SDK's download fetches bytes and meta; one fault route covers both
    "s3_post": "s3_post",
    "update_meta": "update_meta",
    "delete_file": "delete_file",
}
"""Route name -> fault-injection route (contract names); routes not listed never get faults."""


_S3_POST: _Handler = _s3_endpoint.s3_post


@web.middleware
async def _middleware(request: web.Request, handler: _Handler) -> web.StreamResponse:
    state = request.app[STATE]
    if handler is _S3_POST:  # the hot path (thousands of storage posts per second)
        return await _storage_post_steps(state, request, handler)
    route = _ROUTE_NAMES.get(handler, "unmatched")
    state.stats.requests[route] += 1
    path = request.path
    if path.startswith("/_s3/"):
        if "Authorization" in request.headers:  # a client leaking its API key to "S3" must be visible
            state.stats.s3_requests_with_authorization += 1
        if route == "s3_post":
            return await _with_faults(state, route, request, handler)
        if path.rstrip("/") == S3_PREFIX.rstrip("/"):
            error = S3Error(
                "MethodNotAllowed", "The specified method is not allowed against this resource.", 405
            )
        else:
            error = S3Error("NoSuchBucket", "The specified bucket does not exist", 404)
        return s3_error_response(error, path)
    if path.startswith("/_emulator/") and not token_matches(request, state.config.admin_token):
        return api_error_response(401, "Missing or invalid admin token.")
    if path.startswith("/api/") and state.authorized_api_key(request) is None:
        return api_error_response(401, "Missing or invalid API key (expected 'Authorization: Bearer <key>').")
    try:
        return await _with_faults(state, route, request, handler)
    except ApiError as exc:
        return api_error_response(exc.status, exc.message)
    except web.HTTPException as exc:
        if exc.status < 400 or not path.startswith("/api/"):
            raise
        return api_error_response(exc.status, exc.reason)


async def _storage_post_steps(
    state: EmulatorState, request: web.Request, handler: _Handler
) -> web.StreamResponse:
    """What the middleware does for a storage post (`s3_post` route), in as few steps as possible."""
    stats = state.stats
    stats.requests["s3_post"] += 1
    if "Authorization" in request.headers:  # a client leaking its API key to "S3" must be visible
        stats.s3_requests_with_authorization += 1
    if state.faults.has_specs:
        return await _with_faults(state, "s3_post", request, handler)
    return await handler(request)


_STORAGE_POST_PATHS = frozenset({S3_PREFIX, S3_PREFIX.rstrip("/")})


def serve_storage_posts_directly(server: web.Server, state: EmulatorState) -> None:
    """Let `server` (the application's, before it accepts connections) answer storage posts itself.

    A POST to exactly the bucket URL goes straight to the S3 endpoint with the middleware's steps for it
    (stats, faults), skipping the router and the middleware chain, which cost about as much as the
    endpoint's own work. Anything else (another path or method, a query string, `Expect: 100-continue`,
    which the application answers) takes the application's way, so every answer stays the same.
    """
    app_handler = server.request_handler

    async def endpoint(request: web.Request) -> web.StreamResponse:
        return await _s3_endpoint.storage_post(state, request)

    async def handle(request: web.BaseRequest) -> web.StreamResponse:
        if (
            request.raw_path in _STORAGE_POST_PATHS
            and request.method == "POST"
            and isinstance(request, web.Request)
            and "Expect" not in request.headers
        ):
            return await _storage_post_steps(state, request, endpoint)
        return await app_handler(request)

    server.request_handler = handle


async def _with_faults(
    state: EmulatorState, route: str, request: web.Request, handler: _Handler
) -> web.StreamResponse:
    fault_route = FAULT_ROUTES.get(route)
    if fault_route is not None and state.faults.has_specs:
        injected = await state.faults.maybe_inject(fault_route, request, handler)
        if injected is not None:
            state.stats.faults_injected += 1
            return injected
    return await handler(request)


def make_app(state: EmulatorState) -> web.Application:
    """Build the application serving the API, the S3 endpoint and the admin API for `state`."""
    app = web.Application(middlewares=[_middleware], client_max_size=1 << 20)
    app[STATE] = state
    for method, path, handler, _name in _ROUTES:
        app.router.add_route(method, path, handler)
    return app
