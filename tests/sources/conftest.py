"""A real S3 emulator (moto's server mode) on a free loopback port, and s3fs options that reach it."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("s3fs", reason="the 's3' dependency group is needed (nox -s s3 installs it)")
pytest.importorskip("moto.server", reason="the 's3' dependency group is needed (nox -s s3 installs it)")

from moto.server import ThreadedMotoServer

MOTO_KEY = "moto-test-key"
MOTO_SECRET = "moto-test-secret"


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running in a thread on 127.0.0.1 (any free port)."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def s3_options(moto_endpoint: str) -> dict[str, Any]:
    """`storage_options` for s3fs that reach the moto server with dummy credentials, no instance cache."""
    return {
        "key": MOTO_KEY,
        "secret": MOTO_SECRET,
        "endpoint_url": moto_endpoint,
        "client_kwargs": {"region_name": "eu-west-1"},
        "skip_instance_cache": True,
    }


@pytest.fixture
def bucket(s3_options: dict[str, Any]) -> str:
    """A fresh, empty bucket on the moto server."""
    import s3fs

    name = f"bucket-{uuid.uuid4().hex[:12]}"
    s3fs.S3FileSystem(**s3_options).mkdir(name)
    return name


@pytest.fixture
def _no_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    """No AWS credentials from the environment or config files: only storage_options count."""
    for key in list(os.environ):
        if key.startswith("AWS_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
