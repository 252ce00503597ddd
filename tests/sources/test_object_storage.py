"""Uploads from object storage: a real S3 emulator (moto) through s3fs, and fsspec's memory filesystem.

Folders, `recursive`, type filters and sidecars behave as for local paths; objects stream to the storage
posts; errors are our `ConfigurationError`s and name the URL.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fsspec
import pytest
import s3fs

from deepset_cloud import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.errors import ConfigurationError
from deepset_cloud.models import File, UploadReport

pytestmark = pytest.mark.anyio

BIG_BYTES = 3 * 1024 * 1024 + 17  # above the 1 MiB stream threshold: posted in chunks, never read whole


def client_for(emulator: ThreadedEmulator, workspace: str) -> AsyncClient:
    return AsyncClient(emulator.api_key, emulator.api_url, workspace)


async def workspace_files(client: AsyncClient) -> list[File]:
    found: list[File] = []
    async for page in client.list_files():
        found.extend(page)
    return found


def put_corpus(fs: Any, root: str) -> None:
    """A corpus with sidecars, a subfolder, a filtered type and one big object."""
    fs.pipe(f"{root}/a.txt", b"alpha")
    fs.pipe(f"{root}/a.txt.meta.json", json.dumps({"source": "s3", "n": 1}).encode())
    fs.pipe(f"{root}/b.md", b"# beta")
    fs.pipe(f"{root}/image.png", b"\x89PNG")
    fs.pipe(f"{root}/sub/c.txt", b"gamma")
    fs.pipe(f"{root}/sub/c.txt.meta.json", json.dumps({"deep": True}).encode())
    fs.pipe(f"{root}/sub/big.pdf", bytes(range(256)) * (BIG_BYTES // 256) + b"x" * (BIG_BYTES % 256))


async def test_a_bucket_prefix_lands_every_object_once_with_its_meta(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    bucket: str,
    s3_options: dict[str, Any],
    tmp_path: Path,
) -> None:
    put_corpus(s3fs.S3FileSystem(**s3_options), f"{bucket}/docs")
    async with client_for(deepset_emulator, deepset_workspace) as client:
        report = await client.upload(
            [f"s3://{bucket}/docs/"], recursive=True, show_progress=False, storage_options=s3_options
        )
        files = {file.name: file for file in await workspace_files(client)}
        download = await client.download(file_dir=tmp_path / "out", name="big.pdf", show_progress=False)

    assert report.failed == ()
    assert report.successful_upload_count == 6  # 4 files + 2 sidecars
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 4
    assert [(str(skip.path), skip.reason.split(" (")[0]) for skip in report.skipped] == [
        (f"s3://{bucket}/docs/image.png", "unsupported file type '.png'")
    ]
    assert sorted(files) == ["a.txt", "b.md", "big.pdf", "c.txt"]
    assert files["a.txt"].meta == {"source": "s3", "n": 1}
    assert files["c.txt"].meta == {"deep": True}
    assert files["big.pdf"].size == BIG_BYTES
    assert download.failed == ()
    expected = s3fs.S3FileSystem(**s3_options).cat_file(f"{bucket}/docs/sub/big.pdf")
    assert (tmp_path / "out" / "big.pdf").read_bytes() == expected


async def test_without_recursive_subfolders_are_reported_as_skipped(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, bucket: str, s3_options: dict[str, Any]
) -> None:
    put_corpus(s3fs.S3FileSystem(**s3_options), f"{bucket}/docs")
    async with client_for(deepset_emulator, deepset_workspace) as client:
        report = await client.upload(
            [f"s3://{bucket}/docs"],
            desired_file_types=[".txt"],
            show_progress=False,
            storage_options=s3_options,
        )
        names = sorted(file.name for file in await workspace_files(client))

    assert names == ["a.txt"]
    reasons = {str(skip.path): skip.reason.split(" (")[0] for skip in report.skipped}
    assert reasons == {
        f"s3://{bucket}/docs/sub": "directory",
        f"s3://{bucket}/docs/b.md": "unsupported file type '.md'",
        f"s3://{bucket}/docs/image.png": "unsupported file type '.png'",
    }


@pytest.fixture
def memory_root() -> Iterator[str]:
    root = f"/corpus-{uuid.uuid4().hex[:8]}"
    yield root
    fsspec.filesystem("memory").rm(root, recursive=True)


async def test_memory_urls_and_local_paths_mix_with_one_name_rule(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, memory_root: str, tmp_path: Path
) -> None:
    memory = fsspec.filesystem("memory")
    memory.pipe(f"{memory_root}/shared.txt", b"from memory")
    memory.pipe(f"{memory_root}/only-memory.txt", b"m")
    memory.pipe(f"{memory_root}/only-memory.txt.meta.json", b'{"from": "memory"}')
    local = tmp_path / "local"
    local.mkdir()
    (local / "shared.txt").write_text("from disk")
    # The local copy is newer than the memory object, so it wins the duplicate name.
    future = time.time() + 3600
    os.utime(local / "shared.txt", (future, future))
    async with client_for(deepset_emulator, deepset_workspace) as client:
        paths: list[Path | str] = [
            f"memory://{memory_root}/shared.txt",
            local / "shared.txt",
            f"memory://{memory_root}/only-memory.txt",
            f"memory://{memory_root}/only-memory.txt.meta.json",
        ]
        report = await client.upload_file_paths(paths, show_progress=False)
        files = {file.name: file for file in await workspace_files(client)}

    assert report.failed == ()
    assert sorted(files) == ["only-memory.txt", "shared.txt"]
    assert files["shared.txt"].size == len("from disk")
    assert files["only-memory.txt"].meta == {"from": "memory"}
    assert [str(skip.path) for skip in report.skipped] == [f"memory://{memory_root}/shared.txt"]
    assert "duplicate name" in report.skipped[0].reason


async def test_a_broken_sidecar_in_object_storage_is_named_before_any_request(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, memory_root: str
) -> None:
    memory = fsspec.filesystem("memory")
    memory.pipe(f"{memory_root}/a.txt", b"a")
    memory.pipe(f"{memory_root}/a.txt.meta.json", b"{not json")
    async with client_for(deepset_emulator, deepset_workspace) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.upload([f"memory://{memory_root}"], show_progress=False)
        sessions = [s async for page in client.list_upload_sessions() for s in page]
    assert f"memory://{memory_root}/a.txt.meta.json" in str(caught.value)
    assert sessions == []


async def test_a_missing_bucket_is_a_configuration_error_naming_the_url(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, s3_options: dict[str, Any]
) -> None:
    url = f"s3://no-such-bucket-{uuid.uuid4().hex[:8]}/docs/"
    async with client_for(deepset_emulator, deepset_workspace) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.upload([url], show_progress=False, storage_options=s3_options)
    assert url in str(caught.value)
    assert "does not exist" in str(caught.value)
    assert caught.value.missing_paths == (url,)
    assert s3_options["secret"] not in str(caught.value)


@pytest.mark.usefixtures("_no_aws_environment")
async def test_missing_credentials_are_a_configuration_error_naming_the_url(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, bucket: str, moto_endpoint: str
) -> None:
    url = f"s3://{bucket}/docs/"
    async with client_for(deepset_emulator, deepset_workspace) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.upload(
                [url],
                show_progress=False,
                storage_options={"endpoint_url": moto_endpoint, "skip_instance_cache": True},
            )
    assert url in str(caught.value)
    assert "no credentials" in str(caught.value)


@pytest.fixture(scope="module")
def strict_moto() -> Iterator[str]:
    """A moto S3 server that checks credentials (it knows none), as a subprocess on a free port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env={**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": "0"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("the moto server did not start") from None
                time.sleep(0.05)  # polling a condition (the port accepts) with a deadline
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


async def test_denied_access_is_a_configuration_error_naming_the_url(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, strict_moto: str
) -> None:
    url = "s3://locked-bucket/docs/"
    options = {
        "key": "AKIAUNKNOWN",
        "secret": "wrong-secret",
        "endpoint_url": strict_moto,
        "skip_instance_cache": True,
    }
    async with client_for(deepset_emulator, deepset_workspace) as client:
        with pytest.raises(ConfigurationError) as caught:
            await client.upload([url], show_progress=False, storage_options=options)
    assert url in str(caught.value)
    assert "access denied" in str(caught.value)
    assert "wrong-secret" not in str(caught.value)


def test_the_sync_facade_takes_urls_too(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, memory_root: str
) -> None:
    from deepset_cloud.sync_client import files

    fsspec.filesystem("memory").pipe(f"{memory_root}/sync.txt", b"sync")
    report: UploadReport = files.upload(
        [f"memory://{memory_root}/"],
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=deepset_workspace,
        show_progress=False,
    )
    assert (report.successful_upload_count, report.failed_upload_count) == (1, 0)


def test_partition_records_stream_their_content_from_urls(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, bucket: str, s3_options: dict[str, Any]
) -> None:
    from deepset_cloud.integrations.partition import UploadTarget, finish, upload_partition

    fs = s3fs.S3FileSystem(**s3_options)
    fs.pipe(f"{bucket}/in/small.txt", b"small")
    fs.pipe(f"{bucket}/in/large.pdf", b"L" * BIG_BYTES)
    target = UploadTarget(
        workspace_name=deepset_workspace,
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        storage_options=s3_options,
    )
    result = upload_partition(
        [
            ("renamed.txt", f"s3://{bucket}/in/small.txt", {"k": "v"}),
            ("large.pdf", f"s3://{bucket}/in/large.pdf"),
            ("gone.txt", f"s3://{bucket}/in/missing.txt"),
        ],
        target,
    )
    report = finish(result, target, blocking=True)

    assert report.successful_upload_count == 3  # two files and one sidecar
    assert [failure.file_name for failure in report.failed] == ["gone.txt"]
    assert f"s3://{bucket}/in/missing.txt" in str(report.failed[0].exception)
    assert report.ingestion is not None
    assert report.ingestion.finished_files == 2


async def test_large_objects_stream_with_memory_bounded_by_chunks(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, memory_root: str
) -> None:
    import tracemalloc

    size = 24 * 1024 * 1024
    fsspec.filesystem("memory").pipe(f"{memory_root}/huge.pdf", b"\0" * size)
    async with client_for(deepset_emulator, deepset_workspace) as client:
        tracemalloc.start()
        try:
            report = await client.upload([f"memory://{memory_root}/"], show_progress=False, blocking=False)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (report.successful_upload_count, report.failed_upload_count) == (1, 0)
    # The object is posted in 256 KiB chunks: nothing close to its 24 MiB is ever held (this process also
    # runs the emulator, which spools what it receives to disk).
    assert peak < size // 3
