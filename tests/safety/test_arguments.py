"""Arguments that are easy to get subtly wrong: one path instead of a list, a str instead of files, pickling."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from deepset_cloud import Client, DeepsetCloudFile, DeepsetCloudFileBytes, _converter, errors, models

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator


@pytest.fixture
def client(deepset_emulator: ThreadedEmulator, deepset_workspace: str) -> Any:
    with Client(deepset_emulator.api_key, deepset_emulator.api_url, deepset_workspace) as client:
        yield client


def names(client: Client) -> list[str]:
    return sorted(file.name for page in client.list_files() for file in page)


@pytest.mark.parametrize("as_type", [str, Path])
def test_one_folder_given_as_a_bare_string_or_path_is_that_folder(
    client: Client, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, as_type: type
) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("a")
    (tmp_path / "corpus" / "b.txt").write_text("b")
    (tmp_path / "single.txt").write_text("s")
    monkeypatch.chdir(tmp_path)
    report = client.upload(paths=as_type("corpus"), show_progress=False)
    assert report.successful_upload_count == 2
    report = client.upload_file_paths(file_paths=as_type("single.txt"), show_progress=False)
    assert (report.total_files, report.successful_upload_count) == (1, 1)
    assert names(client) == ["a.txt", "b.txt", "single.txt"]


@pytest.mark.parametrize(
    ("files", "given"),
    [
        ("hello", "a str"),
        (b"hello", "a bytes"),
        (DeepsetCloudFile(text="t", name="one.txt"), "a DeepsetCloudFile"),
    ],
)
def test_upload_texts_of_something_else_than_a_list_is_one_clear_error(
    client: Client, files: Any, given: str
) -> None:
    with pytest.raises(errors.ConfigurationError, match=f"a list of DeepsetCloudFile.*got {given}") as caught:
        client.upload_texts(files, show_progress=False)
    assert "files[1]" not in str(caught.value)  # one message, not one per character
    with pytest.raises(errors.ConfigurationError, match="a list of DeepsetCloudFileBytes"):
        client.upload_bytes(files, show_progress=False)
    assert names(client) == []


def test_a_single_bytes_file_is_not_taken_for_a_list(client: Client) -> None:
    with pytest.raises(errors.ConfigurationError, match="got a DeepsetCloudFileBytes"):
        client.upload_bytes(DeepsetCloudFileBytes(file_bytes=b"x", name="x.txt"), show_progress=False)  # type: ignore[arg-type]


def test_models_with_values_the_sdk_does_not_know_pickle() -> None:
    detail = _converter.structure_response(
        {
            "session_id": "00000000-0000-0000-0000-000000000001",
            "status": "SOMETHING_NEW",
            "write_mode": "A_NEW_MODE",
            "created_at": "2024-01-01T00:00:00Z",
            "expires_at": "2024-01-01T00:00:00Z",
            "created_by": {
                "user_id": "00000000-0000-0000-0000-000000000002",
                "given_name": "a",
                "family_name": "b",
            },
            "environment": "prod",
            "ingestion_status": {"failed_files": 0, "finished_files": 0},
            "documentation_url": "https://docs",
        },
        models.UploadSessionDetail,
        strict=False,  # as in production: unknown values become UNKNOWN
    )
    assert detail.status == models.UploadSessionStatusEnum.UNKNOWN
    assert pickle.loads(pickle.dumps(detail)) == detail


@pytest.mark.parametrize(
    "error",
    [
        errors.ConfigurationError("bad"),
        errors.ConnectError("down", method="GET", url="http://x"),
        errors.AuthenticationError("no", status_code=401, method="GET", url="http://x", body="{}"),
        errors.RateLimitError(
            "slow", status_code=429, method="GET", url="http://x", body="", retry_after=2.0
        ),
        errors.ResponseValidationError("too large"),
    ],
)
def test_errors_pickle(error: errors.DeepsetCloudError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert (type(copy), str(copy), vars(copy)) == (type(error), str(error), vars(error))
