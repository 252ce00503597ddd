"""Upload, list, inspect and download through the command line, in tables and as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from deepset_cloud import cli
from deepset_cloud.emulator import ThreadedEmulator

from ._helpers import credentials


def _corpus(root: Path, count: int = 2) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    for index in range(count):
        (corpus / f"doc-{index:02d}.txt").write_text(f"document {index}", encoding="utf-8")
    (corpus / "doc-00.txt.meta.json").write_text(json.dumps({"category": "news"}), encoding="utf-8")
    (corpus / "ignored.exe").write_bytes(b"MZ")
    return corpus


def test_upload_list_and_download_as_tables(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path)
    options = credentials(deepset_emulator, deepset_workspace)

    assert cli.main(["upload", str(corpus), *options]) == 0
    out = capsys.readouterr().out
    assert "Uploaded 2 of 2 objects (0 failed, 1 skipped)." in out  # direct path: sidecars travel as meta
    assert "skipped:" in out
    assert "ignored.exe" in out

    assert cli.main(["list-files", "--odata-filter", "category eq 'news'", *options]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split() == ["FILE_ID", "CREATED_AT", "SIZE", "NAME", "META"]
    assert row.split()[-2:] == ["doc-00.txt", '{"category":"news"}']

    target = tmp_path / "download"
    assert cli.main(["download", "--file-dir", str(target), *options]) == 0
    assert "Downloaded 2 file(s), 0 failed." in capsys.readouterr().out
    assert json.loads((target / "doc-00.txt.meta.json").read_text(encoding="utf-8")) == {"category": "news"}


def test_json_output_of_every_listing_and_report(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path, count=25)  # more than 20 objects: the session path
    options = credentials(deepset_emulator, deepset_workspace)

    assert cli.main(["upload", str(corpus), "--json", *options]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total_files"] == report["successful_upload_count"] == 26  # 25 files + 1 sidecar
    assert report["failed_upload_count"] == 0
    assert report["failed"] == []
    assert [item["path"].endswith("ignored.exe") for item in report["skipped"]] == [True]
    assert report["ingestion"] == {"finished_files": 25, "failed_files": 0}
    (session_id,) = report["session_ids"]

    assert cli.main(["list-files", "--json", "--batch-size", "7", *options]) == 0
    files = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(files) == 25
    assert set(files[0]) == {"file_id", "name", "size", "created_at", "meta", "url"}
    assert {file["name"]: file["meta"] for file in files}["doc-00.txt"] == {"category": "news"}

    assert cli.main(["list-upload-sessions", "--json", *options]) == 0
    (session,) = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert (session["session_id"], session["status"], session["write_mode"]) == (session_id, "CLOSED", "KEEP")
    assert set(session) == {"session_id", "status", "write_mode", "created_at", "expires_at", "created_by"}

    assert cli.main(["get-upload-session", session_id, "--json", *options]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["session_id"] == session_id
    assert status["ingestion_status"] == {"failed_files": 0, "finished_files": 25}

    assert cli.main(["get-upload-session", session_id, *options]) == 0
    assert "Ingested:  25 finished, 0 failed" in capsys.readouterr().out

    assert cli.main(["list-upload-sessions", *options]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header.split()[:3] == ["SESSION_ID", "STATUS", "WRITE_MODE"]
    assert row.split()[:3] == [session_id, "CLOSED", "KEEP"]

    target = tmp_path / "download"
    assert cli.main(["download", "--file-dir", str(target), "--no-include-meta", "--json", *options]) == 0
    downloaded = json.loads(capsys.readouterr().out)
    assert len(downloaded["downloaded"]) == 25
    assert downloaded["failed"] == []


def test_direct_upload_failures_are_named_and_exit_1(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path, count=3)
    options = credentials(deepset_emulator, deepset_workspace)
    assert cli.main(["upload", str(corpus), *options]) == 0
    capsys.readouterr()

    assert cli.main(["upload", str(corpus), "--write-mode", "FAIL", "--json", *options]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["failed_upload_count"] == 3
    assert sorted(item["file_name"] for item in report["failed"]) == [
        "doc-00.txt",
        "doc-01.txt",
        "doc-02.txt",
    ]
    assert all(item["reason"] and item["error_type"] for item in report["failed"])

    assert cli.main(["upload", str(corpus), "--write-mode", "FAIL", *options]) == 1
    out = capsys.readouterr().out
    assert "(3 failed, 1 skipped)" in out
    assert "failed: doc-01.txt: " in out


def test_files_that_fail_ingestion_exit_1(
    deepset_emulator: ThreadedEmulator,
    deepset_workspace: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    corpus = _corpus(tmp_path, count=30)
    options = credentials(deepset_emulator, deepset_workspace)
    assert cli.main(["upload", str(corpus), *options]) == 0
    capsys.readouterr()

    assert cli.main(["upload", str(corpus), "--write-mode", "FAIL", *options]) == 1
    out = capsys.readouterr().out
    assert "Ingested: 0 finished, 30 failed." in out
    failed_lines = sorted(line for line in out.splitlines() if line.startswith("  failed ingestion: "))
    assert len(failed_lines) == 30
    assert all(line.endswith(": FILE_ALREADY_EXISTS") for line in failed_lines), failed_lines[:3]

    assert cli.main(["upload", str(corpus), "--write-mode", "FAIL", "--json", *options]) == 1
    report = json.loads(capsys.readouterr().out)
    assert len(report["failed_ingestion"]) == 30
    assert {item["reason"] for item in report["failed_ingestion"]} == {"FILE_ALREADY_EXISTS"}
