"""Folder uploads with `.meta.json` sidecars through both of the official SDK's paths.

The SDK uploads directly (`POST files`, one request per file) when a folder has at most 20 paths,
sidecars included, and through an upload session (create, S3 presigned POSTs, close, poll until
ingested) above that (protocol.md §4.1). Which path ran is visible afterwards in the session list.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from .sdk_runner import SdkRunner, flatten, step, write_corpus

pytestmark = pytest.mark.compat

# Names that exercise the S3 filename encoding (space, non-ASCII) and dots inside names.
SPECIAL_NAMES = ("notes 2024 ü.txt", "v1.2 release.md")


def build_folder(folder: Path, *, raw_files: int, sidecars: int) -> dict[str, tuple[bytes, dict[str, Any]]]:
    """Write `raw_files` files, the first `sidecars` of them with metadata; return name -> (bytes, meta)."""
    names = [*SPECIAL_NAMES, "table.csv", "data.json"]
    names += [f"doc-{i:02d}.txt" for i in range(raw_files - len(names))]
    expected: dict[str, tuple[bytes, dict[str, Any]]] = {}
    contents: dict[str, bytes] = {}
    metas: dict[str, str] = {}
    for index, name in enumerate(names[:raw_files]):
        data = f"content of {name} (#{index})\n".encode() * (index + 1)
        meta: dict[str, Any] = {}
        if index < sidecars:
            meta = {
                "category": "news" if index % 2 else "sports",
                "index": index,
                "draft": False,
                "tags": ["a"],
            }
            metas[name] = json.dumps(meta)
        contents[name] = data
        expected[name] = (data, meta)
    write_corpus(folder, contents, metas)
    assert len(list(folder.iterdir())) == raw_files + sidecars
    return expected


def assert_listed_with_meta(
    files: list[dict[str, Any]], expected: dict[str, tuple[bytes, dict[str, Any]]]
) -> None:
    """Every expected file is listed exactly once, with its size and metadata (`{}` without a sidecar)."""
    assert sorted(f["name"] for f in files) == sorted(expected)
    for listed in files:
        data, meta = expected[listed["name"]]
        assert listed["meta"] == meta, listed["name"]
        assert listed["size"] == len(data), listed["name"]
        assert listed["url"].endswith(f"/files/{listed['file_id']}")


@pytest.mark.slow  # the SDK sleeps 2 s per ingestion poll / 1 s per retry
def test_folder_of_21_paths_goes_through_a_session_and_waits_for_ingestion(
    sdk: SdkRunner, tmp_path: Path
) -> None:
    expected = build_folder(tmp_path / "corpus", raw_files=13, sidecars=8)  # 21 paths: just above 20

    upload, listing, sessions = sdk.run(
        step("upload", paths=[str(tmp_path / "corpus")], show_progress=False, timeout_s=60),
        # Listed right after the blocking upload returns: the SDK must have waited for ingestion.
        step("list_files"),
        step("list_upload_sessions"),
    )

    assert upload["value"] == {
        "total_files": 21,  # the session path counts sidecars too
        "successful_upload_count": 21,
        "failed_upload_count": 0,
        "failed": [],
    }
    assert_listed_with_meta(flatten(listing["value"]), expected)
    (session,) = flatten(sessions["value"])
    assert session["status"] == "CLOSED"
    assert session["write_mode"] == "KEEP"


def test_folder_of_20_paths_goes_direct(sdk: SdkRunner, tmp_path: Path) -> None:
    expected = build_folder(tmp_path / "corpus", raw_files=12, sidecars=8)  # 20 paths: the threshold

    upload, listing, sessions = sdk.run(
        step("upload", paths=[str(tmp_path / "corpus")], show_progress=False),
        step("list_files"),
        step("list_upload_sessions"),
    )

    assert upload["value"] == {
        "total_files": 12,  # the direct path counts raw files only
        "successful_upload_count": 12,
        "failed_upload_count": 0,
        "failed": [],
    }
    assert_listed_with_meta(flatten(listing["value"]), expected)
    assert flatten(sessions["value"]) == []


@pytest.mark.slow  # the SDK sleeps 2 s per ingestion poll / 1 s per retry
def test_async_client_recursive_folder_upload_through_a_session(sdk: SdkRunner, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    expected = build_folder(corpus, raw_files=16, sidecars=10)
    # Nested folders: a file with its sidecar, and a sidecar away from its file. The session path
    # pairs objects by name within the session, so both keep their metadata.
    (corpus / "sub" / "deeper").mkdir(parents=True)
    for name in ("doc-00.txt", "doc-00.txt.meta.json", "doc-05.txt"):
        (corpus / name).rename(corpus / "sub" / name)
    (corpus / "doc-01.txt.meta.json").rename(corpus / "sub" / "deeper" / "doc-01.txt.meta.json")

    # The SDK's defaults (progress bars, spinner) stay on here, as a user would run it.
    upload, listing = sdk.run(
        step("upload", client="async", paths=[str(corpus)], recursive=True, timeout_s=60),
        step("list_files", client="async", batch_size=7),
    )

    assert upload["value"] == {
        "total_files": 26,
        "successful_upload_count": 26,
        "failed_upload_count": 0,
        "failed": [],
    }
    assert [len(page) for page in listing["value"]] == [7, 7, 2]
    assert_listed_with_meta(flatten(listing["value"]), expected)
