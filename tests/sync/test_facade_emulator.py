"""The generated sync facade over the real async core, against the emulator over loopback."""

from __future__ import annotations

import asyncio
import warnings
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any
from uuid import UUID

import pytest

from deepset_cloud import (
    Client,
    DeepsetCloudError,
    DeepsetCloudFile,
    SyncInAsyncContextWarning,
    _portal,
)
from deepset_cloud.async_client import client_cache as _client_cache
from deepset_cloud.models import UploadSessionStatusEnum
from deepset_cloud.sync_client import files
from tests.support import wait_until

from ._scripts import FORK_OK, run_script

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator


def texts(count: int, prefix: str = "doc") -> list[DeepsetCloudFile]:
    return [DeepsetCloudFile(text=f"text {i}", name=f"{prefix}-{i}.txt") for i in range(count)]


def test_module_functions_upload_list_and_inspect_a_session(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    credentials: dict[str, Any] = {"api_key": deepset_emulator.api_key, "api_url": deepset_emulator.api_url}
    report = files.upload_texts(
        texts(25), workspace_name=deepset_workspace, show_progress=False, **credentials
    )
    assert (report.successful_upload_count, report.failed_upload_count) == (25, 0)
    assert len(report.session_ids) == 1  # more than the direct-upload threshold: one upload session

    pages = list(files.list_files(workspace_name=deepset_workspace, batch_size=10, **credentials))
    assert [len(page) for page in pages] == [10, 10, 5]
    assert sorted(file.name for page in pages for file in page) == sorted(f"doc-{i}.txt" for i in range(25))

    status = files.get_upload_session(report.session_ids[0], workspace_name=deepset_workspace, **credentials)
    assert status.session_id == report.session_ids[0]
    assert status.ingestion_status.finished_files == 25

    sessions = [
        s
        for page in files.list_upload_sessions(workspace_name=deepset_workspace, **credentials)
        for s in page
    ]
    assert [(s.session_id, s.status) for s in sessions] == [
        (report.session_ids[0], UploadSessionStatusEnum.CLOSED)
    ]


def test_module_functions_reuse_one_http_session_on_the_loop_thread(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    credentials: dict[str, Any] = {"api_key": deepset_emulator.api_key, "api_url": deepset_emulator.api_url}

    async def pool_identity() -> int:
        client = _client_cache.cached_client(**credentials)
        return id(await client._transport.http_session())

    report = files.upload_texts(
        texts(2), workspace_name=deepset_workspace, show_progress=False, **credentials
    )
    first = _portal.run(pool_identity)
    for _ in range(3):
        assert list(files.list_files(workspace_name=deepset_workspace, **credentials))
    with pytest.raises(DeepsetCloudError):
        files.get_upload_session(UUID(int=1), workspace_name=deepset_workspace, **credentials)
    assert _portal.run(pool_identity) == first
    assert report.successful_upload_count == 2


def test_client_uploads_lists_and_closes(deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> None:
    with Client(deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace) as client:
        assert repr(client).startswith("Client(")
        report = client.upload_texts(texts(3, "small"), show_progress=False)
        assert report.successful_upload_count == 3
        names = sorted(file.name for page in client.list_files(batch_size=2) for file in page)
        assert names == ["small-0.txt", "small-1.txt", "small-2.txt"]
        pages = client.list_files(batch_size=1)
        assert len(next(pages)) == 1
        pages.close()  # stop a listing early
        assert list(client.list_upload_sessions()) == []  # three files go through direct uploads
    with pytest.raises(DeepsetCloudError, match="closed"):
        client.upload_texts(texts(1), show_progress=False)


def test_sixteen_threads_share_one_client(deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> None:
    with Client(deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace) as client:
        report = client.upload_texts(texts(21, "many"), show_progress=False)  # over the direct threshold
        (session_id,) = report.session_ids

        def poll(_: int) -> int:
            return client.get_upload_session(session_id).ingestion_status.finished_files

        with ThreadPoolExecutor(max_workers=16) as pool:
            assert list(pool.map(poll, range(48))) == [21] * 48


@pytest.mark.anyio
async def test_a_sync_call_inside_a_running_loop_works_with_a_warning(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pages = list(
            files.list_files(
                api_key=deepset_emulator.api_key,
                api_url=deepset_emulator.api_url,
                workspace_name=deepset_workspace,
            )
        )
    assert [file for page in pages for file in page] == []
    assert [warning.category for warning in caught] == [SyncInAsyncContextWarning]


def test_ctrl_c_in_the_middle_of_a_sync_upload_closes_the_session(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    credentials: dict[str, Any] = {"api_key": deepset_emulator.api_key, "api_url": deepset_emulator.api_url}
    deepset_emulator.set_faults([{"route": "s3_post", "latency_s": 3.0}])  # uploads stall mid-way
    posts_before = deepset_emulator.stats()["requests"].get("s3_post", 0)

    def uploading() -> bool:
        # Not "a session exists": the server creates it before the client has the answer, and a Ctrl-C in
        # between leaves the client nothing to close. A storage post means the client holds the session.
        return bool(deepset_emulator.stats()["requests"].get("s3_post", 0) > posts_before)

    finished = run_script(
        """
        import sys
        from deepset_cloud import DeepsetCloudFile
        from deepset_cloud.sync_client import files

        api_key, api_url, workspace = sys.argv[1:]
        documents = [DeepsetCloudFile(text=f"text {i}", name=f"doc-{i}.txt") for i in range(30)]
        try:
            files.upload_texts(
                documents, api_key=api_key, api_url=api_url, workspace_name=workspace, show_progress=False
            )
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
        """,
        deepset_emulator.api_key,
        deepset_emulator.api_url,
        deepset_workspace,
        interrupt_when=uploading,
    )
    assert (finished.returncode, finished.stdout, finished.stderr) == (0, ["KeyboardInterrupt"], "")
    sessions = [
        s
        for page in files.list_upload_sessions(workspace_name=deepset_workspace, **credentials)
        for s in page
    ]
    assert [session.status for session in sessions] == [UploadSessionStatusEnum.CLOSED]
    wait_until(lambda: requests_in_flight(deepset_emulator) == 0)  # leave no stalled handler behind


def requests_in_flight(emulator: ThreadedEmulator) -> int:
    """How many HTTP requests the emulator is handling right now (run on its loop)."""

    def count() -> int:
        names = [getattr(task.get_coro(), "__qualname__", "") for task in asyncio.all_tasks()]
        return len([name for name in names if name.endswith("._handle_request")])

    return emulator.call(count)


def test_a_forked_child_uses_the_facade_after_the_parent_did(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    finished = run_script(
        """
        import multiprocessing
        import sys
        from deepset_cloud import Client, DeepsetCloudFile
        from deepset_cloud.sync_client import files

        api_key, api_url, workspace = sys.argv[1:]
        credentials = {"api_key": api_key, "api_url": api_url, "workspace_name": workspace}

        def names(client):
            return sorted(file.name for page in client.list_files() for file in page)

        def child(queue):
            try:
                report = files.upload_texts([DeepsetCloudFile(text="c", name="child.txt")], show_progress=False, **credentials)
                queue.put((report.successful_upload_count, names(CLIENT)))
            except BaseException as exc:
                queue.put(repr(exc))

        files.upload_texts([DeepsetCloudFile(text="p", name="parent.txt")], show_progress=False, **credentials)
        CLIENT = Client(api_key, api_url, workspace)
        print(names(CLIENT))
        context = multiprocessing.get_context("fork")
        queue = context.Queue()
        process = context.Process(target=child, args=(queue,))
        process.start()
        print(queue.get(timeout=60))
        process.join(60)
        print(process.exitcode)
        print(names(CLIENT))
        """,
        deepset_emulator.api_key,
        deepset_emulator.api_url,
        deepset_workspace,
        warnings=FORK_OK,
    )
    assert (finished.returncode, finished.stderr) == (0, "")
    assert finished.stdout == [
        "['parent.txt']",
        "(1, ['child.txt', 'parent.txt'])",
        "0",
        "['child.txt', 'parent.txt']",
    ]


def test_exit_without_closing_anything_is_prompt_and_quiet(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    finished = run_script(
        """
        import sys
        from deepset_cloud import Client, DeepsetCloudFile
        from deepset_cloud.sync_client import files

        api_key, api_url, workspace = sys.argv[1:]
        client = Client(api_key, api_url, workspace)
        client.upload_texts([DeepsetCloudFile(text="x", name=f"x{i}.txt") for i in range(3)], show_progress=False)
        LISTING = client.list_files(batch_size=1)
        print(len(next(LISTING)))  # a listing left open
        for page in files.list_files(api_key=api_key, api_url=api_url, workspace_name=workspace, batch_size=1):
            break
        print("done")
        """,
        deepset_emulator.api_key,
        deepset_emulator.api_url,
        deepset_workspace,
    )
    assert (finished.returncode, finished.stdout, finished.stderr) == (0, ["1", "done"], "")
