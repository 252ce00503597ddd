"""`sync` of a bucket prefix on the S3 emulator: new, unchanged, changed, metadata-only and gone objects."""

from __future__ import annotations

import json
from typing import Any

import pytest
import s3fs

from deepset_cloud import AsyncClient
from deepset_cloud.emulator import ThreadedEmulator

pytestmark = pytest.mark.anyio


async def listed(client: AsyncClient) -> dict[str, dict[str, Any]]:
    return {file.name: file.meta async for page in client.list_files() for file in page}


async def test_sync_follows_a_bucket_prefix(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, bucket: str, s3_options: dict[str, Any]
) -> None:
    fs = s3fs.S3FileSystem(**s3_options)
    root = f"{bucket}/corpus"
    fs.pipe(f"{root}/a.txt", b"alpha")
    fs.pipe(f"{root}/a.txt.meta.json", json.dumps({"v": 1}).encode())
    fs.pipe(f"{root}/sub/b.txt", b"beta")
    fs.pipe(f"{root}/sub/gone.txt", b"soon gone")
    fs.pipe(f"{root}/image.png", b"\x89PNG")
    url = f"s3://{root}/"

    async with AsyncClient(deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace) as client:

        async def sync(**options: Any) -> Any:
            return await client.sync(
                [url], recursive=True, show_progress=False, storage_options=s3_options, **options
            )

        first = await sync()
        assert (first.uploaded, first.updated, first.unchanged, first.failed) == (3, 0, 0, ())
        assert [str(skip.path) for skip in first.skipped] == [f"s3://{root}/image.png"]
        assert sorted(await listed(client)) == ["a.txt", "b.txt", "gone.txt"]
        assert (await listed(client))["a.txt"] == {"v": 1}

        again = await sync()
        assert (again.uploaded, again.updated, again.unchanged) == (0, 0, 3)

        fs.pipe(f"{root}/sub/b.txt", b"beta, edited")
        fs.pipe(f"{root}/a.txt.meta.json", json.dumps({"v": 2}).encode())
        fs.rm(f"{root}/sub/gone.txt")
        plan = await sync(delete=True, dry_run=True)
        assert sorted((change.action, change.name, str(change.path)) for change in plan.planned) == [
            ("delete", "gone.txt", "None"),
            ("replace", "b.txt", f"s3://{root}/sub/b.txt"),
            ("update_meta", "a.txt", f"s3://{root}/a.txt"),
        ]
        changed = await sync(delete=True)
        assert (changed.uploaded, changed.updated, changed.unchanged, changed.deleted) == (0, 2, 0, 1)
        files = await listed(client)
        assert files == {"a.txt": {"v": 2}, "b.txt": {}}
