"""Workspace names and API keys that cannot work are refused before any request, with a clear error."""

from __future__ import annotations

import uuid

import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, Client
from deepset_cloud.async_client import files as async_files
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.sync_client import files as sync_files
from tests.fake_server import FILES_PAGE_EMPTY as EMPTY_PAGE, FakeServer

from .leaks import places_showing

BAD_WORKSPACES = ["", "  ", ".", "..", "a/b", "../other", "a\\b", "tab\there", "new\nline"]


async def empty_page(request: web.Request) -> web.StreamResponse:
    return web.json_response(EMPTY_PAGE)


@pytest.mark.anyio
@pytest.mark.parametrize("name", BAD_WORKSPACES)
async def test_a_bad_workspace_name_is_refused_before_any_request(name: str) -> None:
    async with FakeServer(empty_page) as server:
        async with AsyncClient("key", server.api_url, "fine") as client:
            with pytest.raises(ConfigurationError, match="workspace_name"):
                await client.get_upload_session(uuid.uuid4(), workspace_name=name)
            with pytest.raises(ConfigurationError, match="workspace_name"):
                async for _ in client.list_files(workspace_name=name):
                    pass
        with pytest.raises(ConfigurationError, match="workspace_name"):
            async for _ in async_files.list_files(api_key="key", api_url=server.api_url, workspace_name=name):
                pass
        if name.strip():  # an empty default means "not set" (read from the environment)
            with pytest.raises(ConfigurationError, match="workspace_name"):
                AsyncClient("key", server.api_url, name)
        assert server.requests == []


@pytest.mark.anyio
async def test_good_workspace_names_still_work() -> None:
    async with FakeServer(empty_page) as server, AsyncClient("key", server.api_url) as client:
        for name in ["ws", "my-workspace_2", "with.dot", "..dots-inside.."]:
            assert [page async for page in client.list_files(workspace_name=name)] == []
    assert len(server.requests) == 4


@pytest.mark.parametrize(
    ("key", "problem"),
    [
        ("clé-secrète", "non-ASCII"),
        ("sk-\u201cquoted\u201d", "non-ASCII"),
        ("sk-key\n", None),  # a trailing newline from a file is stripped
        ("sk-in ner", "whitespace"),
        ("sk-\x00null", "control"),
    ],
)
def test_api_keys_that_cannot_be_sent_are_refused_without_echoing_them(key: str, problem: str | None) -> None:
    if problem is None:
        assert Client(key, "http://127.0.0.1:1/api/v1", "ws").api_url == "http://127.0.0.1:1/api/v1"
        return
    for make in (AsyncClient, Client):
        with pytest.raises(ConfigurationError, match=problem) as caught:
            make(key, "http://127.0.0.1:1/api/v1", "ws")
        assert places_showing(caught.value, key.strip(), skip_file=__file__) == []
    with pytest.raises(ConfigurationError, match=problem) as caught:
        sync_files.get_upload_session(uuid.uuid4(), api_key=key, api_url="http://127.0.0.1:1/api/v1")
    assert places_showing(caught.value, key.strip(), skip_file=__file__) == []
