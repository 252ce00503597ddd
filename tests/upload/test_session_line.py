"""The order in which workers place bundles into sessions, as pure logic with fakes (no server).

While one worker opens a session the others wait in line; the opener places them in supply order. Rollover
points must be exactly those of placing the bundles one by one in supply order.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any
from uuid import UUID

import anyio
import pytest

from deepset_cloud._progress import ProgressBar
from deepset_cloud._retry import RetryPolicy
from deepset_cloud._upload.options import Bundle, PipelineStats, UploadObject, UploadSettings, UploadTally
from deepset_cloud._upload.sessions import SessionUploader
from deepset_cloud.models import AWSPrefixedRequestConfig, UploadSession, WriteMode

pytestmark = pytest.mark.anyio


class FakeAPI:
    """Opens sessions slowly (so workers pile up in line) and closes them at once."""

    def __init__(self) -> None:
        self.opened: list[UUID] = []
        self.closed: list[UUID] = []

    async def create_upload_session(self, workspace: str, **_: Any) -> UploadSession:
        await anyio.sleep(0.01)
        session_id = uuid.uuid4()
        self.opened.append(session_id)
        return UploadSession(
            session_id=session_id,
            documentation_url="",
            expires_at=datetime.now(timezone.utc) + timedelta(hours=1),
            aws_prefixed_request_config=AWSPrefixedRequestConfig(url=str(session_id), fields={}),
        )

    async def close_upload_session(self, workspace: str, session_id: UUID) -> None:
        self.closed.append(session_id)


class FakePoster:
    def __init__(self, url: str, posts: list[tuple[str, str]]) -> None:
        self.url, self.posts = url, posts

    async def upload(self, name: str, source: object) -> None:
        self.posts.append((self.url, name))
        await anyio.sleep(0)


class FakeStorage:
    def __init__(self) -> None:
        self.posts: list[tuple[str, str]] = []

    def presigned_post(self, *, url: str, **_: Any) -> FakePoster:
        return FakePoster(url, self.posts)


async def upload(
    bundles: list[Bundle], *, per_session: int, unique_names: bool
) -> tuple[FakeAPI, FakeStorage]:
    api, storage = FakeAPI(), FakeStorage()
    uploader = SessionUploader(
        api,  # type: ignore[arg-type]
        storage,  # type: ignore[arg-type]
        workspace="ws",
        write_mode=WriteMode.OVERWRITE,
        enable_parallel_processing=False,
        concurrency=16,
        retry=RetryPolicy(),
        settings=UploadSettings(max_files_per_session=per_session),
        tally=UploadTally(),
        progress=ProgressBar(enabled=False, total=None, description=""),
        stats=PipelineStats(),
        unique_names=unique_names,
    )
    await uploader.run(bundles)
    return api, storage


def session_index(api: FakeAPI, storage: FakeStorage) -> dict[str, list[int]]:
    """For every name, the index of the session each of its posts went to, in post order."""
    order = {str(session_id): index for index, session_id in enumerate(api.opened)}
    found: dict[str, list[int]] = {}
    for url, name in storage.posts:
        found.setdefault(name, []).append(order[url])
    return found


async def test_bundles_go_to_sessions_in_supply_order_across_rollovers() -> None:
    bundles = [Bundle(file=UploadObject(f"f{index:03}.txt", b"x")) for index in range(100)]

    api, storage = await upload(bundles, per_session=7, unique_names=False)

    where = session_index(api, storage)
    assert [where[f"f{index:03}.txt"] for index in range(100)] == [[index // 7] for index in range(100)]
    assert sorted(api.closed) == sorted(api.opened)


async def test_a_repeated_name_goes_to_a_later_session_than_its_earlier_copies() -> None:
    # Every fifth bundle repeats one name: with OVERWRITE the last copy must be the one stored, so each copy
    # goes to a later session than the one before it.
    bundles = [
        Bundle(file=UploadObject("same.txt" if index % 5 == 0 else f"f{index:03}.txt", str(index)))
        for index in range(60)
    ]

    api, storage = await upload(bundles, per_session=50, unique_names=True)

    copies = session_index(api, storage)["same.txt"]
    assert copies == list(range(12))
    assert sorted(api.closed) == sorted(api.opened)
