"""A tiny scriptable HTTP server on 127.0.0.1 for transport edge cases the emulator cannot produce.

It is a fake *server*: the SDK's own HTTP path runs for real over a loopback socket.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeServer:
    """Serves every request with `handler`; records each request's method, path and headers."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[web.Request] = []
        self.raw_paths: list[str] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(request)
        self.raw_paths.append(request.raw_path)
        return await self.handler(request)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v1"

    async def __aenter__(self) -> FakeServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.1)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._runner is not None
        await self._runner.cleanup()


async def drop_connection(request: web.Request) -> web.StreamResponse:
    """Close the connection without answering."""
    transport = request.transport
    assert transport is not None
    transport.close()
    raise ConnectionResetError("dropped on purpose")


def json_response(data: object, status: int = 200, **headers: str) -> web.Response:
    return web.json_response(data, status=status, headers=headers)


FILES_PAGE_EMPTY = {"total": 0, "has_more": False, "data": []}
