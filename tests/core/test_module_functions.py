"""The module-level functions of `deepset_cloud.async_client.files`, configured from the environment."""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

from deepset_cloud import DEFAULT_WORKSPACE_NAME, DeepsetCloudFile, DeepsetCloudFileBytes, UploadReport
from deepset_cloud.async_client import files
from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.models import WriteMode

pytestmark = pytest.mark.anyio


@pytest.fixture
def configured(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    monkeypatch.setenv("API_KEY", deepset_emulator.api_key)
    monkeypatch.setenv("API_URL", deepset_emulator.api_url + "/")
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", deepset_workspace)
    return deepset_workspace


async def all_names(**kwargs: object) -> list[str]:
    return sorted(file.name for page in [p async for p in files.list_files(**kwargs)] for file in page)  # type: ignore[arg-type]


async def test_every_function_works_from_environment_settings(configured: str, tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("alpha")
    (tmp_path / "src" / "a.txt.meta.json").write_text('{"kind": "path"}')
    (tmp_path / "src" / "sub").mkdir()
    (tmp_path / "src" / "sub" / "b.md").write_text("beta")

    reports: list[UploadReport] = [
        await files.upload([tmp_path / "src"], recursive=True, show_progress=False),
        await files.upload_file_paths(
            [tmp_path / "src" / "a.txt", tmp_path / "src" / "a.txt.meta.json"],
            write_mode=WriteMode.OVERWRITE,
            show_progress=False,
        ),
        await files.upload_texts(
            [DeepsetCloudFile(text="gamma", name="c.txt", meta={"k": 1})], show_progress=False
        ),
        await files.upload_bytes(
            [DeepsetCloudFileBytes(file_bytes=b"%PDF", name="d.pdf")], show_progress=False
        ),
    ]
    assert all(report.failed_upload_count == 0 for report in reports)
    assert await all_names() == ["a.txt", "b.md", "c.txt", "d.pdf"]
    assert await all_names(name="c") == ["c.txt"]
    assert await all_names(odata_filter="kind eq 'path'") == ["a.txt"]

    sessions_report = await files.upload_texts(
        [DeepsetCloudFile(text=str(i), name=f"many-{i}.txt") for i in range(21)], show_progress=False
    )
    (session_id,) = sessions_report.session_ids
    status = await files.get_upload_session(session_id)
    assert status.ingestion_status.finished_files == 21
    listed = [s.session_id async for page in files.list_upload_sessions() for s in page]
    assert listed == [session_id]

    report = await files.download(file_dir=tmp_path / "out", name="a.txt", show_progress=False)
    assert [path.name for path in report.downloaded] == ["a.txt"]
    assert (tmp_path / "out" / "a.txt").read_text() == "alpha"
    assert (tmp_path / "out" / "a.txt.meta.json").read_text() == '{"kind": "path"}'


async def test_explicit_arguments_override_the_environment(
    configured: str,
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    other = deepset_workspace + "-other"
    monkeypatch.setenv("API_KEY", "wrong")
    monkeypatch.setenv("API_URL", "http://127.0.0.1:9/api/v1")
    explicit = {"api_key": deepset_emulator.api_key, "api_url": deepset_emulator.api_url}
    await files.upload_texts(
        [DeepsetCloudFile(text="x", name="x.txt")],
        api_key=deepset_emulator.api_key,
        api_url=deepset_emulator.api_url,
        workspace_name=other,
        show_progress=False,
    )
    assert await all_names(workspace_name=other, **explicit) == ["x.txt"]
    assert await all_names(**explicit) == []  # the default workspace from the environment is empty


async def test_default_workspace_is_read_at_call_time(
    configured: str, deepset_emulator: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    await files.upload_texts([DeepsetCloudFile(text="x", name="first.txt")], show_progress=False)
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", configured + "-second")
    assert await all_names() == []
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", configured)
    assert await all_names() == ["first.txt"]


def test_signatures_match_the_seed_and_the_official_sdk() -> None:
    def params(function: object) -> list[tuple[str, object]]:
        return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]  # type: ignore[arg-type]

    ws = ("workspace_name", DEFAULT_WORKSPACE_NAME)
    creds = [("api_key", None), ("api_url", None)]
    empty = inspect.Parameter.empty
    assert params(files.list_files) == [
        *creds,
        ws,
        ("name", None),
        ("content", None),
        ("odata_filter", None),
        ("batch_size", 100),
        ("timeout_s", 300),
    ]
    assert params(files.list_upload_sessions) == [
        *creds,
        ws,
        ("is_expired", None),
        ("batch_size", 100),
        ("timeout_s", 300),
    ]
    assert params(files.get_upload_session) == [("session_id", empty), *creds, ws]
    upload_common = [
        ("write_mode", WriteMode.KEEP),
        ("blocking", True),
        ("timeout_s", 300),
        ("show_progress", True),
    ]
    # `storage_options` (fsspec URLs among the paths) is a trailing addition of this SDK (issue 11).
    assert params(files.upload_file_paths) == [
        ("file_paths", empty), *creds, ws, *upload_common, ("storage_options", None),
    ]  # fmt: skip
    assert params(files.upload) == [
        ("paths", empty), *creds, ws, *upload_common, ("recursive", False), ("desired_file_types", None),
        ("enable_parallel_processing", False), ("safe_mode", False), ("storage_options", None),
    ]  # fmt: skip
    assert params(files.upload_texts) == [
        ("files", empty),
        *creds,
        ws,
        *upload_common,
        ("enable_parallel_processing", False),
    ]
    assert params(files.upload_bytes) == [
        ("files", empty), *creds, ws, ("write_mode", WriteMode.KEEP), ("blocking", True), ("timeout_s", None),
        ("show_progress", True), ("enable_parallel_processing", False),
    ]  # fmt: skip
    assert params(files.download) == [
        ws, ("file_dir", None), ("name", None), ("odata_filter", None), ("include_meta", True), ("batch_size", 50),
        *creds, ("show_progress", True), ("timeout_s", None), ("safe_mode", False),
    ]  # fmt: skip
    for name in ("list_files", "list_upload_sessions"):
        assert inspect.isasyncgenfunction(getattr(files, name))
    assert inspect.signature(files.get_upload_session).parameters["session_id"].annotation == "UUID"
