"""Listing files and upload sessions against the emulator: every item once, across pages, with filters."""

from __future__ import annotations

import anyio
import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, RetryPolicy
from deepset_cloud.emulator import ManualClock, ThreadedEmulator
from deepset_cloud.errors import ConfigurationError, OperationTimeoutError, ResponseValidationError
from deepset_cloud.models import File, UploadSessionDetail, UploadSessionStatusEnum, WriteMode
from tests.fake_server import FakeServer, json_response

pytestmark = pytest.mark.anyio


async def upload_many(client: AsyncClient, count: int) -> dict[str, File | None]:
    """Upload `count` small files directly (concurrently); half are 'news', a third are named 'report-...'."""
    workspace = client.workspace_name
    assert workspace is not None
    ids: dict[str, File | None] = {}

    async def one(index: int) -> None:
        name = f"report-{index:03d}.txt" if index % 3 == 0 else f"note-{index:03d}.txt"
        meta = {"category": "news" if index % 2 == 0 else "sport", "index": index}
        file_id = await client._api.direct_upload(
            workspace, name=name, body=f"text {index}".encode(), meta=meta, write_mode=WriteMode.KEEP
        )
        ids[str(file_id)] = None

    async with anyio.create_task_group() as group:
        for index in range(count):
            group.start_soon(one, index)
    return ids


async def collect(client: AsyncClient, **kwargs: object) -> list[list[File]]:
    return [page async for page in client.list_files(**kwargs)]  # type: ignore[arg-type]


async def test_listing_yields_every_file_exactly_once_across_pages(client: AsyncClient) -> None:
    ids = await upload_many(client, 23)
    pages = await collect(client, batch_size=5)
    assert [len(page) for page in pages] == [5, 5, 5, 5, 3]
    listed = [str(file.file_id) for page in pages for file in page]
    assert sorted(listed) == sorted(ids)
    assert all(isinstance(page, list) for page in pages)
    # The cursor follows the server's order: (created_at, file_id) ascending.
    keys = [(file.created_at, str(file.file_id)) for page in pages for file in page]
    assert keys == sorted(keys)


async def test_page_size_equal_to_total_ends_cleanly(client: AsyncClient) -> None:
    await upload_many(client, 4)
    pages = await collect(client, batch_size=4)
    assert [len(page) for page in pages] == [4]
    pages = await collect(client, batch_size=2)
    assert [len(page) for page in pages] == [2, 2]


async def test_name_filter_is_a_substring_match_across_pages(client: AsyncClient) -> None:
    await upload_many(client, 23)
    pages = await collect(client, name="report", batch_size=3)
    names = sorted(file.name for page in pages for file in page)
    assert names == [f"report-{index:03d}.txt" for index in range(0, 23, 3)]


async def test_odata_filter_on_metadata_across_pages(client: AsyncClient) -> None:
    await upload_many(client, 23)
    pages = await collect(client, odata_filter="category eq 'news'", batch_size=4)
    indices = sorted(file.meta["index"] for page in pages for file in page)
    assert indices == list(range(0, 23, 2))
    both = await collect(client, odata_filter="category eq 'news'", name="report", batch_size=2)
    assert sorted(file.meta["index"] for page in both for file in page) == [0, 6, 12, 18]


async def test_empty_workspace_yields_no_pages(client: AsyncClient) -> None:
    assert await collect(client) == []


async def test_breaking_out_early_is_clean(client: AsyncClient) -> None:
    await upload_many(client, 6)
    async for page in client.list_files(batch_size=2):
        assert len(page) == 2
        break
    assert len(await collect(client, batch_size=100)) == 1


@pytest.mark.parametrize("batch_size", [0, -1, True, 2.5])
async def test_bad_batch_size_is_a_configuration_error(client: AsyncClient, batch_size: object) -> None:
    with pytest.raises(ConfigurationError, match="batch_size"):
        await collect(client, batch_size=batch_size)


async def test_timeout_bounds_the_whole_iteration(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, fast_retry: RetryPolicy
) -> None:
    async with AsyncClient(
        deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace, retry=fast_retry
    ) as client:
        await upload_many(client, 4)
        deepset_emulator.set_faults([{"route": "list_files", "latency_s": 0.3}])
        with pytest.raises(OperationTimeoutError, match="timeout_s"):
            async for _ in client.list_files(batch_size=1, timeout_s=0.5):
                pass


async def test_list_upload_sessions_pages_through_every_session(client: AsyncClient) -> None:
    workspace = client.workspace_name
    assert workspace is not None
    created = []
    for mode in [WriteMode.KEEP, WriteMode.OVERWRITE, WriteMode.FAIL] * 2 + [WriteMode.KEEP]:
        session = await client._api.create_upload_session(workspace, write_mode=mode)
        created.append((session.session_id, mode))
    await client._api.close_upload_session(workspace, created[0][0])

    pages = [page async for page in client.list_upload_sessions(batch_size=3)]
    assert [len(page) for page in pages] == [3, 3, 1]
    listed: dict[object, UploadSessionDetail] = {s.session_id: s for page in pages for s in page}
    assert set(listed) == {session_id for session_id, _ in created}
    for session_id, mode in created:
        assert listed[session_id].write_mode is mode
    assert listed[created[0][0]].status is UploadSessionStatusEnum.CLOSED
    assert listed[created[1][0]].status is UploadSessionStatusEnum.OPEN

    unexpired = [s for page in [p async for p in client.list_upload_sessions(is_expired=False)] for s in page]
    assert len(unexpired) == len(created)
    expired = [p async for p in client.list_upload_sessions(is_expired=True)]
    assert expired == []


async def test_expired_sessions_are_listed_as_expired(
    deepset_make_emulator: object, fast_retry: RetryPolicy
) -> None:
    clock = ManualClock()
    emulator = deepset_make_emulator(session_ttl_s=60, clock=clock)  # type: ignore[operator]
    async with AsyncClient(emulator.api_key, emulator.api_url, "ws", retry=fast_retry) as client:
        session = await client._api.create_upload_session("ws", write_mode=WriteMode.KEEP)
        clock.advance(60)
        pages = [page async for page in client.list_upload_sessions(is_expired=True)]
        status = await client.get_upload_session(session.session_id)
    assert [s.session_id for page in pages for s in page] == [session.session_id]
    assert pages[0][0].status is UploadSessionStatusEnum.EXPIRED
    assert status.session_id == session.session_id


async def test_get_upload_session_reports_ingestion_counts(client: AsyncClient) -> None:
    from deepset_cloud import DeepsetCloudFile

    files = [DeepsetCloudFile(text=f"text {i}", name=f"t{i}.txt", meta={"i": i}) for i in range(25)]
    report = await client.upload_texts(files, show_progress=False, timeout_s=30)
    (session_id,) = report.session_ids
    status = await client.get_upload_session(session_id)
    assert status.session_id == session_id
    assert status.ingestion_status.finished_files == 25
    assert status.ingestion_status.failed_files == 0
    by_string = await client.get_upload_session(str(session_id))  # type: ignore[arg-type]
    assert by_string == status


async def test_get_upload_session_with_a_bad_id_is_a_configuration_error(client: AsyncClient) -> None:
    with pytest.raises(ConfigurationError, match="session_id"):
        await client.get_upload_session("nope")  # type: ignore[arg-type]


async def test_content_filter_is_sent_to_the_server(client: AsyncClient) -> None:
    from deepset_cloud import DeepsetCloudFile

    await client.upload_texts(
        [
            DeepsetCloudFile(text="the needle is here", name="a.txt"),
            DeepsetCloudFile(text="hay", name="b.txt"),
        ],
        show_progress=False,
    )
    pages = await collect(client, content="needle")
    assert [file.name for page in pages for file in page] == ["a.txt"]


FILE = {
    "file_id": "cd16435f-f6eb-423f-bf6f-994dc8a36a10",
    "url": "/api/v1/workspaces/ws/files/cd16435f-f6eb-423f-bf6f-994dc8a36a10",
    "name": "a.txt",
    "size": 1,
    "created_at": "2024-02-03T07:58:54.730474Z",
    "meta": {},
}


async def test_a_server_that_ignores_the_cursor_cannot_loop_forever() -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        return json_response({"total": 99, "has_more": True, "data": [FILE]})

    async with FakeServer(handler) as server, AsyncClient("k", server.api_url, "ws") as client:
        with pytest.raises(ResponseValidationError, match="same page twice"):
            await collect(client)
    assert len(server.requests) == 2
    assert server.requests[1].query["after_value"] == "2024-02-03T07:58:54.730474+00:00"
    assert server.requests[1].query["after_file_id"] == FILE["file_id"]


async def test_session_pages_stop_on_an_empty_page_even_if_has_more() -> None:
    detail = {
        "session_id": "2f9e1c7a-6a0b-4d2e-9a57-0d7c3c7b1e11",
        "created_by": {
            "user_id": "6f1d2c3b-0000-4000-8000-000000000001",
            "given_name": "A",
            "family_name": "B",
        },
        "created_at": "2024-02-03T07:58:54.730474Z",
        "expires_at": "2024-02-04T07:58:54.730474Z",
        "write_mode": "KEEP",
        "status": "OPEN",
    }

    async def handler(request: web.Request) -> web.StreamResponse:
        page = int(request.query["page_number"])
        return json_response({"total": None, "has_more": True, "data": [detail] if page < 3 else []})

    async with FakeServer(handler) as server, AsyncClient("k", server.api_url, "ws") as client:
        pages = [page async for page in client.list_upload_sessions(batch_size=1, is_expired=False)]
    assert len(pages) == 2
    assert [request.query["page_number"] for request in server.requests] == ["1", "2", "3"]
    assert all(request.query["is_expired"] == "false" for request in server.requests)
