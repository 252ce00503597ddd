"""Write modes KEEP, OVERWRITE and FAIL as the official SDK's direct uploads experience them."""

from __future__ import annotations

from typing import Any

import pytest

from .sdk_runner import SdkRunner, flatten, step

pytestmark = pytest.mark.compat


def version(number: int) -> list[dict[str, Any]]:
    return [{"name": "same.txt", "text": f"version {number}", "meta": {"version": number}}]


def test_keep_adds_overwrite_replaces_fail_refuses(sdk: SdkRunner) -> None:
    first, kept, after_keep, overwritten, after_overwrite, refused, after_fail = sdk.run(
        step("upload_texts", files=version(1), show_progress=False),
        step("upload_texts", files=version(2), write_mode="KEEP", show_progress=False),
        step("list_files"),
        step("upload_texts", files=version(3), write_mode="OVERWRITE", show_progress=False),
        step("list_files"),
        step("upload_texts", files=version(4), write_mode="FAIL", show_progress=False),
        step("list_files"),
    )
    for result in (first, kept, overwritten):
        assert result["value"]["successful_upload_count"] == 1

    assert sorted(f["meta"]["version"] for f in flatten(after_keep["value"])) == [1, 2]
    # OVERWRITE replaces every file of that name.
    assert [f["meta"] for f in flatten(after_overwrite["value"])] == [{"version": 3}]

    # FAIL: the SDK records the rejected file in its summary; the workspace is unchanged.
    assert refused["value"]["failed_upload_count"] == 1
    (failure,) = refused["value"]["failed"]
    assert failure["file_name"] == "same.txt"
    assert failure["exception"]["type"] == "FailedToUploadFileException"
    assert flatten(after_fail["value"]) == flatten(after_overwrite["value"])
