"""download: pages of files fetched concurrently, streamed to disk, safe names, failures reported."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from uuid import UUID, uuid4

import pytest
from aiohttp import web

from deepset_cloud import AsyncClient, DownloadReport
from deepset_cloud._download.files import LocalNames, safe_file_name
from deepset_cloud.errors import AuthenticationError, ConfigurationError, OperationTimeoutError
from deepset_cloud.models import WriteMode
from tests.fake_server import FakeServer, json_response
from tests.support import fast_retry

FILE_ID = UUID("cd16435f-f6eb-423f-bf6f-994dc8a36a10")
FAST = fast_retry(max_tries=2)


async def put(
    client: AsyncClient, name: str, body: bytes = b"data", meta: dict[str, object] | None = None
) -> UUID:
    workspace = client.workspace_name
    assert workspace is not None
    return await client._api.direct_upload(
        workspace, name=name, body=body, meta=meta, write_mode=WriteMode.KEEP
    )


def leftovers(folder: Path) -> list[str]:
    return sorted(path.name for path in folder.iterdir() if path.name.endswith(".download"))


# -- safe names (no server) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("report.txt", "report.txt"),
        ("../../etc/passwd", "passwd"),
        ("/abs/path.txt", "path.txt"),
        ("..\\..\\windows\\win.ini", "win.ini"),
        ("dir/", "dir"),
        ("", str(FILE_ID)),
        (".", str(FILE_ID)),
        ("..", str(FILE_ID)),
        ("  ", str(FILE_ID)),
        ("x\x00y\ny.txt", "x_y_y.txt"),
        (".env", ".env"),
        ("naïve résumé.pdf", "naïve résumé.pdf"),
    ],
)
def test_safe_file_name_is_one_harmless_component(name: str, expected: str) -> None:
    assert safe_file_name(name, FILE_ID, windows=False) == expected


@pytest.mark.parametrize(
    ("name", "expected"), [("con.txt", "_con.txt"), ("a:b?.txt", "a_b_.txt"), ("trailing. ", "trailing")]
)
def test_safe_file_name_on_windows(name: str, expected: str) -> None:
    assert safe_file_name(name, FILE_ID, windows=True) == expected


def test_overlong_names_are_shortened_keeping_the_extension() -> None:
    name = "é" * 300 + ".pdf"
    safe = safe_file_name(name, FILE_ID, windows=False)
    assert safe.endswith(".pdf")
    assert len(safe.encode()) <= 200


def test_local_names_number_collisions_and_respect_existing_files(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("mine")
    (tmp_path / "b_1.txt.meta.json").write_text("{}")  # a sidecar name counts as taken too
    names = LocalNames(tmp_path, include_meta=True)
    assert names.reserve("a.txt").name == "a_1.txt"
    assert names.reserve("a.txt").name == "a_2.txt"
    assert names.reserve("A.TXT").name == "A_3.TXT"  # case-insensitive file systems
    assert names.reserve("b.txt").name == "b.txt"
    assert names.reserve("b.txt").name == "b_2.txt"
    assert names.reserve("noext").name == "noext"
    assert names.reserve("noext").name == "noext_1"
    released = names.reserve("c.txt")
    names.release(released)
    assert names.reserve("c.txt") == released


# -- against the emulator -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_download_saves_files_and_meta_and_numbers_collisions(
    client: AsyncClient, tmp_path: Path
) -> None:
    ids = [await put(client, "a.txt", f"body {i}".encode(), {"i": i}) for i in range(3)]
    await put(client, "b.txt", b"bee", None)
    (tmp_path / "a.txt").write_text("local file, never overwritten")

    report = await client.download(file_dir=tmp_path, batch_size=2, show_progress=False)

    assert isinstance(report, DownloadReport)
    assert report.failed == ()
    assert sorted(path.name for path in report.downloaded) == ["a_1.txt", "a_2.txt", "a_3.txt", "b.txt"]
    assert (tmp_path / "a.txt").read_text() == "local file, never overwritten"
    bodies = {path.read_bytes() for path in report.downloaded}
    assert bodies == {b"body 0", b"body 1", b"body 2", b"bee"}
    for path in report.downloaded:
        meta = json.loads(path.with_name(path.name + ".meta.json").read_text())
        if path.read_bytes().startswith(b"body"):
            assert meta == {"i": int(path.read_bytes()[-1:])}
        else:
            assert meta in ({}, None)
    assert leftovers(tmp_path) == []
    assert len(ids) == 3


@pytest.mark.anyio
async def test_hostile_names_never_write_outside_file_dir(client: AsyncClient, tmp_path: Path) -> None:
    names = ["../../etc/passwd", "/abs/path.txt", "..", ".", "a\\..\\b.txt", "x\x00y.txt", "sub/dir/c.txt"]
    for name in names:
        await put(client, name)
    target = tmp_path / "inner" / "target"

    report = await client.download(file_dir=target, show_progress=False)

    assert report.failed == ()
    assert len(report.downloaded) == len(names)
    outside = sorted(
        str(path.relative_to(tmp_path)) for path in tmp_path.rglob("*") if target not in path.parents
    )
    assert outside == ["inner", "inner/target"]
    assert all(path.parent == target.resolve() for path in report.downloaded)
    saved = sorted(path.name for path in report.downloaded)
    assert "passwd" in saved
    assert "path.txt" in saved
    assert "b.txt" in saved
    assert "c.txt" in saved
    assert "x_y.txt" in saved


@pytest.mark.anyio
async def test_download_without_meta_and_with_filters(client: AsyncClient, tmp_path: Path) -> None:
    await put(client, "news-1.txt", meta={"category": "news"})
    await put(client, "news-2.txt", meta={"category": "sport"})
    await put(client, "other.txt", meta={"category": "news"})

    by_name = await client.download(
        file_dir=tmp_path / "n", name="news", include_meta=False, show_progress=False
    )
    assert sorted(path.name for path in by_name.downloaded) == ["news-1.txt", "news-2.txt"]
    assert sorted(path.name for path in (tmp_path / "n").iterdir()) == ["news-1.txt", "news-2.txt"]

    by_meta = await client.download(
        file_dir=tmp_path / "m", odata_filter="category eq 'news'", include_meta=False, show_progress=False
    )
    assert sorted(path.name for path in by_meta.downloaded) == ["news-1.txt", "other.txt"]


@pytest.mark.anyio
async def test_empty_workspace_downloads_nothing(client: AsyncClient, tmp_path: Path) -> None:
    report = await client.download(file_dir=tmp_path, show_progress=True)
    assert report == DownloadReport()


@pytest.mark.anyio
async def test_file_dir_that_is_a_file_is_a_configuration_error(client: AsyncClient, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ConfigurationError, match="not a folder"):
        await client.download(file_dir=blocker, show_progress=False)


@pytest.mark.anyio
async def test_listing_errors_are_raised(
    deepset_emulator: object, deepset_workspace: str, tmp_path: Path
) -> None:
    async with AsyncClient("wrong-key", deepset_emulator.api_url, deepset_workspace) as client:  # type: ignore[attr-defined]
        with pytest.raises(AuthenticationError):
            await client.download(file_dir=tmp_path, show_progress=False)


@pytest.mark.anyio
async def test_download_to_current_folder_by_default(client: AsyncClient) -> None:
    await put(client, "here.txt")
    report = await client.download(show_progress=False)
    assert [path.name for path in report.downloaded] == ["here.txt"]
    assert Path("here.txt").read_bytes() == b"data"


# -- per-file failures and timeouts (fake server) -------------------------------------------------------


def listing(*entries: tuple[UUID, str], size: int = 4) -> dict[str, object]:
    return {
        "total": len(entries),
        "has_more": False,
        "data": [
            {
                "file_id": str(file_id),
                "url": f"/api/v1/workspaces/ws/files/{file_id}",
                "name": name,
                "size": size,
                "created_at": "2024-02-03T07:58:54.730474Z",
                "meta": {},
            }
            for file_id, name in entries
        ],
    }


@pytest.mark.anyio
async def test_failed_files_are_reported_and_leave_nothing_behind(tmp_path: Path) -> None:
    good, missing, bad_meta, empty_name = uuid4(), uuid4(), uuid4(), uuid4()

    async def handler(request: web.Request) -> web.StreamResponse:
        parts = request.path.split("/")
        if parts[-1] == "files":
            return json_response(
                listing(
                    (good, "good.txt"), (missing, "missing.txt"), (bad_meta, "bad-meta.txt"), (empty_name, "")
                )
            )
        file_id = UUID(parts[6])
        if file_id == missing:
            return json_response({"errors": ["File not found"]}, 404)
        if parts[-1] == "meta":
            if file_id == bad_meta:
                return json_response(["not", "an", "object"])
            return json_response({"source": "fake"})
        return web.Response(body=b"data")

    async with FakeServer(handler) as server, AsyncClient("k", server.api_url, "ws", retry=FAST) as client:
        report = await client.download(file_dir=tmp_path, show_progress=False)

    assert [path.name for path in report.downloaded] == ["good.txt", str(empty_name)]
    failed = {item.file_id: item for item in report.failed}
    assert set(failed) == {missing, bad_meta}
    assert "404" in failed[missing].reason
    assert failed[missing].name == "missing.txt"
    assert "JSON object" in failed[bad_meta].reason
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(
        ["good.txt", "good.txt.meta.json", str(empty_name), f"{empty_name}.meta.json"]
    )


@pytest.mark.anyio
async def test_timeout_bounds_the_whole_download_and_cleans_up(tmp_path: Path) -> None:
    file_id = uuid4()
    never = asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/files"):
            return json_response(listing((file_id, "slow.txt"), size=100))
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(b"first bytes")
        await never.wait()
        return response

    async with FakeServer(handler) as server:
        try:
            async with AsyncClient("k", server.api_url, "ws", retry=FAST) as client:
                with pytest.raises(OperationTimeoutError, match="0 files were saved"):
                    await client.download(file_dir=tmp_path, show_progress=False, timeout_s=0.3)
        finally:
            never.set()
    assert os.listdir(tmp_path) == []


@pytest.mark.anyio
async def test_a_download_cut_short_reports_what_the_page_in_flight_saved(tmp_path: Path) -> None:
    fast, slow = uuid4(), uuid4()
    fast_meta_served, never = asyncio.Event(), asyncio.Event()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/files"):
            return json_response(listing((fast, "fast.txt"), (slow, "slow.txt")))
        if request.path.endswith(f"{fast}/meta"):
            fast_meta_served.set()
            return json_response({"k": "v"})
        if str(fast) in request.path:
            return web.Response(body=b"data")
        await fast_meta_served.wait()  # the slow file hangs only once the fast one is (nearly) saved
        await never.wait()
        return web.Response(body=b"never")

    async with FakeServer(handler) as server:
        try:
            async with AsyncClient("k", server.api_url, "ws", retry=FAST) as client:
                with pytest.raises(OperationTimeoutError, match="1 files were saved") as caught:
                    await client.download(file_dir=tmp_path, show_progress=False, timeout_s=1.0)
        finally:
            never.set()
    report = caught.value.download_report
    assert report is not None
    assert [path.name for path in report.downloaded] == ["fast.txt"]
    assert sorted(os.listdir(tmp_path)) == ["fast.txt", "fast.txt.meta.json"]
