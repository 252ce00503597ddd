"""A harness that calls the pipeline entry points directly against an emulator over loopback."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.storage import StorageClient
from deepset_cloud._http.transport import Transport
from deepset_cloud._upload.pipeline import UploadOptions, UploadSettings, upload_memory_files, upload_paths
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.models import (
    DeepsetCloudFile,
    DeepsetCloudFileBytes,
    File,
    UploadReport,
    UploadSessionDetail,
)
from tests.support import fast_retry

# Quick retries keep fault-injection tests short; the policy logic itself is the same.
FAST_RETRY = fast_retry(max_tries=8)


@attrs.define
class Harness:
    """The pipeline wired to one emulator and workspace, with silent progress and fast retries."""

    emulator: ThreadedEmulator
    transport: Transport
    api: DeepsetCloudAPI
    workspace: str

    def settings(self, **changes: Any) -> UploadSettings:
        return UploadSettings(**{"retry": FAST_RETRY, **changes})

    def options(self, **changes: Any) -> UploadOptions:
        return UploadOptions(**{"settings": self.settings(), "show_progress": False, **changes})

    async def upload_paths(
        self,
        paths: Sequence[Path | str],
        *,
        recursive: bool = False,
        desired_file_types: Sequence[str] | None = None,
        **options: Any,
    ) -> UploadReport:
        return await upload_paths(
            self.api,
            StorageClient(await self.transport.http_session()),
            workspace=self.workspace,
            paths=paths,
            recursive=recursive,
            desired_file_types=desired_file_types,
            options=self.options(**options),
        )

    async def upload_memory(
        self, files: Sequence[DeepsetCloudFile | DeepsetCloudFileBytes], **options: Any
    ) -> UploadReport:
        return await upload_memory_files(
            self.api,
            StorageClient(await self.transport.http_session()),
            workspace=self.workspace,
            files=files,
            options=self.options(**options),
        )

    async def files(self) -> list[File]:
        found: list[File] = []
        after = None
        while True:
            page = await self.api.list_files_page(self.workspace, limit=100, after=after)
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            after = (page.data[-1].created_at, page.data[-1].file_id)

    async def sessions(self) -> list[UploadSessionDetail]:
        found: list[UploadSessionDetail] = []
        page_number = 1
        while True:
            page = await self.api.list_upload_sessions_page(
                self.workspace, page_number=page_number, limit=100, is_expired=None
            )
            found.extend(page.data)
            if not page.has_more or not page.data:
                return found
            page_number += 1


async def make_harness(emulator: ThreadedEmulator, workspace: str) -> tuple[Harness, Transport]:
    transport = Transport(api_url=emulator.api_url, api_key=emulator.api_key, retry=FAST_RETRY)
    return Harness(emulator, transport, DeepsetCloudAPI(transport), workspace), transport


def write_tree(
    root: Path, count: int, *, meta_every: int = 0, prefix: str = "doc"
) -> dict[str, dict[str, Any]]:
    """Write `count` text files (every `meta_every`-th with a sidecar); return {name: expected meta}."""
    root.mkdir(parents=True, exist_ok=True)
    expected: dict[str, dict[str, Any]] = {}
    for index in range(count):
        name = f"{prefix}{index:05d}.txt"
        (root / name).write_text(f"content of {name}")
        meta: dict[str, Any] = {}
        if meta_every and index % meta_every == 0:
            meta = {"index": index, "kind": "sidecar"}
            (root / f"{name}.meta.json").write_text(json.dumps(meta))
        expected[name] = meta
    return expected
