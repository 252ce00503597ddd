"""The public AsyncClient methods reach the pipeline with their options intact."""

from __future__ import annotations

from pathlib import Path

import pytest

from deepset_cloud import AsyncClient, DeepsetCloudFile, DeepsetCloudFileBytes, WriteMode
from deepset_cloud.emulator import ThreadedEmulator

from ._harness import write_tree

pytestmark = pytest.mark.anyio


async def test_async_client_uploads_paths_texts_and_bytes(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    expected = write_tree(tmp_path / "docs", 23, meta_every=5)
    (tmp_path / "docs" / "skip.png").write_bytes(b"png")

    async with AsyncClient(
        api_key=deepset_emulator.api_key, api_url=deepset_emulator.api_url, workspace_name=deepset_workspace
    ) as client:
        paths = await client.upload([tmp_path / "docs"], show_progress=False, write_mode=WriteMode.OVERWRITE)
        texts = await client.upload_texts(
            [DeepsetCloudFile(text="hello", name="hello.txt", meta={"a": 1})], show_progress=False
        )
        blobs = await client.upload_bytes(
            [DeepsetCloudFileBytes(file_bytes=b"%PDF", name="b.pdf")], show_progress=False
        )
        listed = {file.name: file.meta async for page in client.list_files() for file in page}

    assert (paths.total_files, paths.failed_upload_count, len(paths.session_ids)) == (28, 0, 1)
    assert [Path(skip.path).name for skip in paths.skipped] == ["skip.png"]
    assert (texts.successful_upload_count, blobs.successful_upload_count) == (1, 1)
    assert listed == {**expected, "hello.txt": {"a": 1}, "b.pdf": {}}
