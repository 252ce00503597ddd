"""A wrong API key: how the official SDK surfaces the emulator's 401 on each kind of call."""

from __future__ import annotations

import json
import uuid

import pytest

from .sdk_runner import SdkRunner, flatten, step

pytestmark = pytest.mark.compat

WRONG_KEY = "api_this-key-is-not-known"


@pytest.mark.slow  # the SDK sleeps 2 s per ingestion poll / 1 s per retry
def test_wrong_api_key_is_rejected_and_nothing_is_stored(sdk: SdkRunner) -> None:
    texts = [{"name": f"t-{i}.txt", "text": "x", "meta": {"i": i}} for i in range(21)]
    listing, direct, session, status, listing_with_right_key = sdk.run(
        step("list_files", api_key=WRONG_KEY, expect_error=True),
        step("upload_texts", api_key=WRONG_KEY, files=texts[:2], show_progress=False),
        step("upload_texts", api_key=WRONG_KEY, files=texts, show_progress=False, expect_error=True),
        step("get_upload_session", api_key=WRONG_KEY, session_id=str(uuid.uuid4()), expect_error=True),
        step("list_files"),
    )

    # Listing asserts on 200 and puts the response body into the AssertionError.
    assert listing["error"]["type"] == "AssertionError"
    prefix = "Failed to list files: "
    assert listing["error"]["message"].startswith(prefix)
    assert json.loads(listing["error"]["message"].removeprefix(prefix))["errors"]

    # Direct uploads record a per-file failure with the status code; the call itself returns.
    assert direct["value"]["total_files"] == 2
    assert direct["value"]["successful_upload_count"] == 0
    assert direct["value"]["failed_upload_count"] == 2
    for failure in direct["value"]["failed"]:
        assert failure["exception"]["type"] == "FailedToUploadFileException"
        assert "status code 401" in failure["exception"]["message"]

    # Session uploads abort when the session cannot be created.
    assert session["error"]["type"] == "FailedToSendUploadSessionRequest"
    assert session["error"]["message"] == "Failed to create the upload session. Status code: 401."

    # Session status is retried three times, then raised with the last status code.
    assert status["error"]["type"] == "FailedToSendUploadSessionRequest"
    assert status["error"]["message"] == "Failed to get upload session status. Status code: 401."

    # The key is the only thing that was wrong, and none of the rejected calls stored anything.
    assert flatten(listing_with_right_key["value"]) == []
