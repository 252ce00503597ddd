"""The sync `Client` shows the same public attributes as the `AsyncClient` behind it."""

from __future__ import annotations

from typing import Any

from deepset_cloud import AsyncClient, Client, RetryPolicy


def test_client_mirrors_every_public_attribute_of_async_client() -> None:
    retry = RetryPolicy(max_tries=2)
    arguments: dict[str, Any] = {
        "timeout_s": 7.5,
        "s3_concurrency": 3,
        "retry": retry,
        "max_files_per_session": 10,
    }
    async_client = AsyncClient("key", "http://127.0.0.1:1/api/v1/", "ws", **arguments)
    public = {name: value for name, value in vars(async_client).items() if not name.startswith("_")}
    assert set(public) == {"api_url", "workspace_name", *arguments}
    with Client("key", "http://127.0.0.1:1/api/v1/", "ws", **arguments) as client:
        assert {name: getattr(client, name) for name in public} == public
        assert client.api_url == "http://127.0.0.1:1/api/v1"
        assert client.retry is retry
