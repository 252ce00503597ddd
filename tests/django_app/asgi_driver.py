"""Drive an ASGI application (Django's `get_asgi_application()`) in-process, as an ASGI server would.

Unlike `django.test.AsyncClient`, this goes through `ASGIHandler.__call__`, which wraps every request in its
own `ThreadSensitiveContext`: each request's sync middleware and view get their own worker thread, exactly as
under uvicorn or daphne.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping, Sequence
from typing import Any
from urllib.parse import urlencode

import anyio
import attrs

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[MutableMapping[str, Any], Receive, Send], Awaitable[None]]


@attrs.frozen
class ASGIResponse:
    """Status, headers and body of one ASGI response."""

    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes

    def json(self) -> Any:
        """Decode the body as JSON."""
        return json.loads(self.body)


async def asgi_request(
    app: ASGIApp,
    method: str,
    path: str,
    *,
    query: dict[str, str] | None = None,
    json_body: Any = None,
    headers: Sequence[tuple[str, str]] = (),
) -> ASGIResponse:
    """Send one HTTP request through `app` and collect the response."""
    body = b"" if json_body is None else json.dumps(json_body).encode()
    raw_headers = [(b"host", b"testserver")]
    if json_body is not None:
        raw_headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in headers]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": urlencode(query or {}).encode(),
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    body_sent = False
    sent: list[Message] = []

    async def receive() -> Message:
        nonlocal body_sent
        if not body_sent:
            body_sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        # The client never disconnects: Django cancels its disconnect listener once the response is out.
        await anyio.sleep_forever()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return _collect(sent)


def _collect(sent: list[Message]) -> ASGIResponse:
    starts = [message for message in sent if message["type"] == "http.response.start"]
    assert len(starts) == 1, f"expected one http.response.start, got {sent!r}"
    chunks = [message.get("body", b"") for message in sent if message["type"] == "http.response.body"]
    assert chunks, "the application sent no response body message"
    assert not sent[-1].get("more_body", False), "the response body was not finished"
    return ASGIResponse(
        status=starts[0]["status"],
        headers=tuple((bytes(name), bytes(value)) for name, value in starts[0].get("headers", ())),
        body=b"".join(chunks),
    )
