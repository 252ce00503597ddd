"""A small HTTP client for the emulated API, used by the emulator tests (real loopback sockets)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import aiohttp
import attrs

from deepset_cloud.emulator import ThreadedEmulator
from tests.support import poll_until

__all__ = ["Api", "Reply"]


@attrs.frozen
class Reply:
    """A response, read completely."""

    status: int
    body: bytes
    headers: Mapping[str, str]

    @property
    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode()


class Api:
    """Requests against one emulator and workspace, authenticated with its first API key."""

    def __init__(self, http: aiohttp.ClientSession, emulator: ThreadedEmulator, workspace: str) -> None:
        self.http = http
        self.emulator = emulator
        self.workspace = workspace
        self.auth = {"Authorization": f"Bearer {emulator.api_key}"}

    def with_emulator(self, emulator: ThreadedEmulator, workspace: str | None = None) -> Api:
        return Api(self.http, emulator, workspace or self.workspace)

    def url(self, path: str) -> str:
        return f"{self.emulator.api_url}/workspaces/{self.workspace}/{path}".rstrip("/")

    async def raw(self, method: str, url: str, **kwargs: Any) -> Reply:
        async with self.http.request(method, url, **kwargs) as response:
            return Reply(response.status, await response.read(), dict(response.headers))

    async def call(self, method: str, path: str, *, auth: bool = True, **kwargs: Any) -> Reply:
        headers = {**(self.auth if auth else {}), **kwargs.pop("headers", {})}
        return await self.raw(method, self.url(path), headers=headers, **kwargs)

    async def admin(self, method: str, path: str, **kwargs: Any) -> Reply:
        headers = {"Authorization": f"Bearer {self.emulator.admin_token}"}
        return await self.raw(method, f"{self.emulator.base_url}/_emulator/{path}", headers=headers, **kwargs)

    async def upload(
        self, name: str, data: bytes, meta: Any = None, *, write_mode: str = "KEEP", expect: int = 201
    ) -> Reply:
        form = aiohttp.FormData()
        form.add_field("file", data, filename=name)
        form.add_field("meta", json.dumps({} if meta is None else meta))
        reply = await self.call("POST", "files", params={"write_mode": write_mode}, data=form)
        assert reply.status == expect, reply.text
        return reply

    async def list_files(self, **params: Any) -> Reply:
        return await self.call("GET", "files", params={"limit": 100, **params})

    async def list_all(self, limit: int = 100, **params: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor: dict[str, str] = {}
        while True:
            reply = await self.call("GET", "files", params={"limit": limit, **params, **cursor})
            assert reply.status == 200, reply.text
            page = reply.json
            items += page["data"]
            if not page["has_more"] or not page["data"]:
                return items
            last = page["data"][-1]
            cursor = {"after_value": last["created_at"], "after_file_id": last["file_id"]}

    async def create_session(self, write_mode: str = "KEEP", expect: int = 201) -> dict[str, Any]:
        reply = await self.call(
            "POST", "upload_sessions", json={"write_mode": write_mode, "parallel_processing_enabled": False}
        )
        assert reply.status == expect, reply.text
        return reply.json if reply.status == 201 else {}

    async def s3_post(
        self,
        session: Mapping[str, Any],
        name: str,
        data: bytes,
        *,
        fields: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Reply:
        config = session["aws_prefixed_request_config"]
        form = aiohttp.FormData(quote_fields=True)
        for key, value in (config["fields"] if fields is None else fields).items():
            form.add_field(key, value)
        form.add_field("file", data, filename=name, content_type="text/plain")
        return await self.raw("POST", config["url"], data=form, headers=dict(headers or {}))

    async def close(self, session_id: str, expect: int = 204) -> Reply:
        reply = await self.call("PUT", f"upload_sessions/{session_id}", json={"status": "CLOSED"})
        assert reply.status == expect, reply.text
        return reply

    async def status(self, session_id: str) -> dict[str, Any]:
        reply = await self.call("GET", f"upload_sessions/{session_id}")
        assert reply.status == 200, reply.text
        return reply.json  # type: ignore[no-any-return]

    async def wait_ingested(self, session_id: str, raw_files: int) -> dict[str, int]:
        counts: dict[str, int] = {}

        async def done() -> bool:
            nonlocal counts
            counts = (await self.status(session_id))["ingestion_status"]
            return counts["finished_files"] + counts["failed_files"] >= raw_files

        await poll_until(done, what=f"ingestion of {raw_files} files")
        return counts

    async def session_files(self, session_id: str, **params: Any) -> dict[str, Any]:
        reply = await self.call("GET", f"upload_sessions/{session_id}/files", params={"limit": 100, **params})
        assert reply.status == 200, reply.text
        return reply.json  # type: ignore[no-any-return]

    async def upload_session(
        self, objects: Mapping[str, bytes], write_mode: str = "KEEP", *, wait: bool = True
    ) -> dict[str, Any]:
        """Create a session, post every object, close it and (optionally) wait for its raw files."""
        session = await self.create_session(write_mode)
        for name, data in objects.items():
            reply = await self.s3_post(session, name, data)
            assert reply.status == 204, reply.text
        await self.close(session["session_id"])
        if wait:
            await self.wait_ingested(
                session["session_id"], sum(not n.endswith(".meta.json") for n in objects)
            )
        return session
