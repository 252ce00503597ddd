"""`get_upload_session` and `list_upload_sessions` of the official SDK, with OPEN, CLOSED and EXPIRED sessions.

A dedicated emulator starts with a one-second session lifetime, so the first session expires on its
own; the lifetime is then raised so later sessions stay open. OPEN and EXPIRED sessions are made with
the SDK's own `UploadSessionsAPI` (its workflows always close the sessions they open).
"""

from __future__ import annotations

import json
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from .sdk_runner import SdkRunner, flatten, step, write_corpus

pytestmark = pytest.mark.compat

GOOD_FILES = 19


def build_folder_with_two_bad_files(folder: Path) -> list[str]:
    """19 good files with metadata, one empty file, one file with an unparsable sidecar: 42 paths."""
    contents = {f"good-{i:02d}.txt": f"good file {i}".encode() for i in range(GOOD_FILES)}
    sidecars = {name: json.dumps({"index": i}) for i, name in enumerate(contents)}
    contents["empty.txt"] = b""
    sidecars["empty.txt"] = "{}"
    contents["bad-meta.txt"] = b"the sidecar of this file is not JSON"
    sidecars["bad-meta.txt"] = "{not json"
    write_corpus(folder, contents, sidecars)
    return sorted(name for name in contents if name.startswith("good-"))


def wait_until_past(moment: str, deadline_s: float = 10.0) -> None:
    """Poll the clock until `moment` (an ISO timestamp from the emulator) lies in the past."""
    target = datetime.fromisoformat(moment)
    deadline = time.monotonic() + deadline_s
    while datetime.now(timezone.utc) <= target:
        assert time.monotonic() < deadline, f"{moment} did not pass within {deadline_s} s"
        time.sleep(0.05)


@pytest.mark.slow  # the SDK sleeps 2 s per ingestion poll / 1 s per retry
def test_sessions_are_listed_and_inspected_with_statuses_and_counts(
    deepset_make_emulator: Any, deepset_workspace: str, tmp_path: Path
) -> None:
    emulator = deepset_make_emulator(session_ttl_s=1.0)
    sandbox = tmp_path / "sdk-sandbox"
    sandbox.mkdir()
    sdk = SdkRunner(emulator.api_url, emulator.api_key, deepset_workspace, sandbox)
    good_names = build_folder_with_two_bad_files(tmp_path / "corpus")

    expiring = sdk.value(step("open_session", write_mode="FAIL"))
    emulator.configure(session_ttl_s=86_400.0)
    opened, upload, listing = sdk.run(
        step("open_session", write_mode="KEEP"),
        step(
            "upload",
            paths=[str(tmp_path / "corpus")],
            write_mode="OVERWRITE",
            show_progress=False,
            timeout_s=60,
        ),
        step("list_files"),
    )
    wait_until_past(expiring["expires_at"])
    all_sessions, expired_only, open_status, expired_status = sdk.run(
        step("list_upload_sessions", batch_size=2),
        step("list_upload_sessions", is_expired=True),
        step("get_upload_session", session_id=opened["value"]["session_id"]),
        step("get_upload_session", session_id=expiring["session_id"]),
    )

    # The blocking upload returned once failed + finished covered every raw file; S3 took all 42 objects.
    assert upload["value"] == {
        "total_files": 42,
        "successful_upload_count": 42,
        "failed_upload_count": 0,
        "failed": [],
    }
    assert sorted(f["name"] for f in flatten(listing["value"])) == good_names

    # Without `is_expired` the SDK sends no filter: every session is listed, in pages of `batch_size`.
    assert [len(page) for page in all_sessions["value"]] == [2, 1]
    listed = {s["session_id"]: s for s in flatten(all_sessions["value"])}
    (closed_id,) = set(listed) - {opened["value"]["session_id"], expiring["session_id"]}
    assert {sid: (s["status"], s["write_mode"]) for sid, s in listed.items()} == {
        expiring["session_id"]: ("EXPIRED", "FAIL"),
        opened["value"]["session_id"]: ("OPEN", "KEEP"),
        closed_id: ("CLOSED", "OVERWRITE"),  # the real mode, unlike the API bug of issue #193
    }
    for session in listed.values():
        created = datetime.fromisoformat(session["created_at"])
        expires = datetime.fromisoformat(session["expires_at"])
        assert created.tzinfo is not None
        assert expires > created
        assert session["created_by"]["user_id"]

    # `is_expired=True`: exactly the session that outlived its lifetime without being closed.
    (expired,) = flatten(expired_only["value"])
    assert expired["session_id"] == expiring["session_id"]
    assert expired["status"] == "EXPIRED"
    assert expired["write_mode"] == "FAIL"

    # Ingestion counts: the empty file and the file with the unparsable sidecar failed.
    (closed_status,) = sdk.run(step("get_upload_session", session_id=closed_id))
    assert closed_status["value"]["session_id"] == closed_id
    assert closed_status["value"]["ingestion_status"] == {"finished_files": GOOD_FILES, "failed_files": 2}
    created = datetime.fromisoformat(listed[closed_id]["created_at"])
    expires = datetime.fromisoformat(closed_status["value"]["expires_at"])
    assert timedelta(hours=23, minutes=59) < expires - created <= timedelta(hours=24, seconds=1)
    assert open_status["value"]["ingestion_status"] == {"finished_files": 0, "failed_files": 0}
    assert expired_status["value"]["ingestion_status"] == {"finished_files": 0, "failed_files": 0}
    assert expired_status["value"]["expires_at"] == expiring["expires_at"]
