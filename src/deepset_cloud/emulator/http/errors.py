"""JSON error responses of the emulated deepset API: `{"errors": ["message", ...]}`."""

from __future__ import annotations

import json
from typing import NoReturn

from aiohttp import web

__all__ = ["ApiError", "api_error_response", "raise_api_error"]


class ApiError(Exception):
    """An error answer of the deepset API; the middleware turns it into a JSON response."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def api_error_response(status: int, *messages: str) -> web.Response:
    """A JSON error response in the shape the real API uses."""
    return web.Response(
        status=status, text=json.dumps({"errors": list(messages)}), content_type="application/json"
    )


def raise_api_error(status: int, message: str) -> NoReturn:
    """Abort the current handler with a JSON error response."""
    raise ApiError(status, message)
