"""HTTP(S)_PROXY / NO_PROXY are honoured for API and storage requests, through a real forward proxy.

The proxy (`forward_proxy.ForwardProxy`) runs on loopback in the test's loop and records every request;
the emulator stands behind it. Loopback is not exempt from proxying unless NO_PROXY says so (as in curl,
requests and urllib), which is what lets these tests route 127.0.0.1 through the proxy.
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING

import pytest

from deepset_cloud import AsyncClient, DeepsetCloudError, DeepsetCloudFile, RetryPolicy
from deepset_cloud._http.proxies import proxy_for
from deepset_cloud._upload.options import DEFAULT_S3_CONCURRENCY, UploadSettings, resolve_concurrency
from deepset_cloud.errors import APIError, ConfigurationError, TransportError

from .forward_proxy import ForwardProxy
from .leaks import places_showing

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator

FAST = RetryPolicy(max_tries=2, base_delay_s=0.001, max_delay_s=0.01, max_time_s=30)
PROXY_VARIABLES = [
    f"{name}{suffix}" for name in ("http", "https", "all", "no") for suffix in ("_proxy", "_PROXY")
]
STORAGE_PATH = "/_s3/"


@pytest.fixture(autouse=True)
def no_proxy_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start every test without proxy variables (the machine running the suite may have some)."""
    for name in [*PROXY_VARIABLES, "REQUEST_METHOD"]:
        monkeypatch.delenv(name, raising=False)


def texts(count: int) -> list[DeepsetCloudFile]:
    return [DeepsetCloudFile(text=f"text {i}", name=f"doc-{i}.txt") for i in range(count)]


async def upload_and_list(emulator: ThreadedEmulator, workspace: str, count: int) -> list[str]:
    async with AsyncClient(emulator.api_key, emulator.api_url, workspace, retry=FAST) as client:
        report = await client.upload_texts(texts(count), show_progress=False)
        assert report.successful_upload_count == count
        return sorted([file.name async for page in client.list_files() for file in page])


@pytest.mark.anyio
@pytest.mark.parametrize("variable", ["HTTP_PROXY", "http_proxy", "ALL_PROXY"])
async def test_api_and_storage_requests_go_through_the_proxy_and_the_key_only_to_the_api(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    async with ForwardProxy() as proxy:
        monkeypatch.setenv(variable, proxy.url)
        names = await upload_and_list(
            deepset_emulator, deepset_workspace, 25
        )  # a session upload: storage posts

    assert names == sorted(f"doc-{i}.txt" for i in range(25))
    emulator_host = deepset_emulator.api_url.split("/")[2]
    assert set(proxy.per_host()) == {emulator_host}
    storage = [r for r in proxy.requests if r.path.startswith(STORAGE_PATH)]
    api = [r for r in proxy.requests if r.path.startswith("/api/v1/")]
    assert len(storage) == 25
    assert len(api) >= 3  # open and close the session, list the files (and poll the ingestion)
    assert len(storage) + len(api) == len(proxy.requests)
    assert all(r.authorization == f"Bearer {deepset_emulator.api_key}" for r in api)
    assert [r.authorization for r in storage] == [None] * 25


@pytest.mark.anyio
@pytest.mark.parametrize("no_proxy", ["127.0.0.1", "localhost,127.0.0.1", "*"])
async def test_no_proxy_goes_direct(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch, no_proxy: str
) -> None:
    async with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", no_proxy)
        names = await upload_and_list(deepset_emulator, deepset_workspace, 25)
    assert len(names) == 25
    assert proxy.requests == []


@pytest.mark.anyio
async def test_proxy_credentials_from_the_url_are_sent_to_the_proxy(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ForwardProxy(credentials=("corp user", "p@ss:word/1")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)  # user and password URL-quoted in it
        names = await upload_and_list(deepset_emulator, deepset_workspace, 3)  # direct uploads
    assert len(names) == 3
    assert proxy.rejected == 0
    assert len(proxy.requests) == 4


@pytest.mark.anyio
async def test_wrong_proxy_credentials_fail_clearly_without_showing_them(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = f"secret-{uuid.uuid4().hex}"
    async with ForwardProxy(credentials=("user", "right")) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url.replace(":right@", f":{password}@"))
        async with AsyncClient(
            deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace
        ) as client:
            with pytest.raises(APIError) as caught:
                await client.list_upload_sessions().__anext__()
    assert caught.value.status_code == 407
    assert proxy.rejected == 1
    basic = base64.b64encode(f"user:{password}".encode()).decode()  # as in Proxy-Authorization
    for secret in (password, basic, deepset_emulator.api_key):
        assert places_showing(caught.value, secret, skip_file=__file__) == []


@pytest.mark.anyio
async def test_storage_failures_through_an_authenticated_proxy_show_neither_key_nor_proxy_password(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    password = f"secret-{uuid.uuid4().hex}"
    deepset_emulator.set_faults([{"route": "s3_post", "drop": True}])
    async with ForwardProxy(credentials=("user", password)) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with AsyncClient(
            deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace, retry=FAST
        ) as client:
            try:
                report = await client.upload_texts(texts(25), show_progress=False, blocking=False)
            except DeepsetCloudError as raised:
                failures: list[BaseException] = [raised]
            else:
                failures = [r.exception for r in report.failed if r.exception is not None]
    assert failures
    assert proxy.rejected == 0
    assert any(r.path.startswith(STORAGE_PATH) for r in proxy.requests)
    basic = base64.b64encode(f"user:{password}".encode()).decode()  # as in Proxy-Authorization
    for failure in failures:
        for secret in (password, basic, deepset_emulator.api_key):
            assert places_showing(failure, secret, skip_file=__file__) == []


@pytest.mark.anyio
async def test_an_https_target_is_tunnelled_with_connect_which_never_carries_the_key(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The emulator speaks plain HTTP, so the TLS handshake inside the tunnel fails: what matters here is
    # that the proxy was asked for a tunnel and saw no Authorization header.
    https_url = deepset_emulator.api_url.replace("http://", "https://")
    async with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        async with AsyncClient(deepset_emulator.api_key, https_url, deepset_workspace, retry=FAST) as client:
            with pytest.raises(TransportError) as caught:
                await client.list_upload_sessions().__anext__()
    emulator_host = deepset_emulator.api_url.split("/")[2]
    assert [(r.method, r.host, r.authorization) for r in proxy.requests] == [
        ("CONNECT", emulator_host, None)
    ] * 2
    assert places_showing(caught.value, deepset_emulator.api_key, skip_file=__file__) == []


def test_proxy_resolution_follows_curl_and_urllib(monkeypatch: pytest.MonkeyPatch) -> None:
    assert proxy_for("http://api.example/x") is None
    monkeypatch.setenv("HTTP_PROXY", "http://upper:1")
    monkeypatch.setenv("http_proxy", "lower:2")  # lower case wins; no scheme means http://
    assert proxy_for("http://api.example/x") == proxy_for("http://other.example/") != None  # noqa: E711
    assert str(proxy_for("http://api.example/x")) == "Proxy(url='http://lower:2')"
    assert proxy_for("https://api.example/x") is None  # https needs HTTPS_PROXY (or ALL_PROXY)
    monkeypatch.setenv("ALL_PROXY", "http://all:3")
    proxy = proxy_for("https://api.example/x")
    assert proxy is not None
    assert proxy.url == "http://all:3"
    monkeypatch.setenv("NO_PROXY", "example, 10.0.0.1")
    assert proxy_for("http://api.example/x") is None  # a domain covers its subdomains
    assert proxy_for("http://10.0.0.1:8080/x") is None
    assert proxy_for("http://127.0.0.1:8080/x") is not None  # loopback is proxied unless listed
    monkeypatch.setenv("http_proxy", "")  # an empty lower-case variable switches HTTP_PROXY off
    proxy = proxy_for("http://127.0.0.1/x")
    assert proxy is not None
    assert proxy.url == "http://all:3"
    monkeypatch.setenv("REQUEST_METHOD", "GET")  # CGI: HTTP_PROXY may come from a request header
    monkeypatch.delenv("http_proxy")
    monkeypatch.delenv("ALL_PROXY")
    assert proxy_for("http://127.0.0.1/x") is None
    monkeypatch.setenv("ALL_PROXY", "socks5://socks:1080")  # unsupported: ignored, like aiohttp does
    assert proxy_for("http://127.0.0.1/x") is None
    monkeypatch.setenv("HTTPS_PROXY", "socks5://socks:1080")
    with pytest.raises(ConfigurationError, match="HTTPS_PROXY"):
        proxy_for("https://api.elsewhere.org/x")


def test_concurrency_is_lowered_only_when_the_target_goes_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = UploadSettings()
    api = "https://api.cloud.deepset.ai/api/v1"
    assert resolve_concurrency(settings, safe_mode=False, target_url=api) == DEFAULT_S3_CONCURRENCY
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy:3128")
    assert resolve_concurrency(settings, safe_mode=False, target_url=api) == 4
    assert (
        resolve_concurrency(settings, safe_mode=False, target_url="http://127.0.0.1:8000/api/v1")
        == DEFAULT_S3_CONCURRENCY
    )
    monkeypatch.setenv("NO_PROXY", "deepset.ai")
    assert resolve_concurrency(settings, safe_mode=False, target_url=api) == DEFAULT_S3_CONCURRENCY
