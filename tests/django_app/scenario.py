"""Payloads and expected answers shared by the WSGI and ASGI tests."""

from __future__ import annotations

from typing import Any

UPLOAD_PATH = "/files/upload-texts"
LIST_PATH = "/files"
NEWS_FILTER = "category eq 'news'"

# Up to 20 in-memory files go through `POST files`; more open an upload session (DIRECT_UPLOAD_THRESHOLD).
DIRECT_COUNT = 3
SESSION_COUNT = 25


def make_texts(batch: str, count: int) -> list[dict[str, Any]]:
    """`count` texts named `<batch>-NN.txt`; even ones are news, odd ones sports."""
    return [
        {
            "name": f"{batch}-{index:02d}.txt",
            "text": f"text {index} of {batch}",
            "meta": {"batch": batch, "index": index, "category": "news" if index % 2 == 0 else "sports"},
        }
        for index in range(count)
    ]


def listing(texts: list[dict[str, Any]], *, category: str | None = None) -> list[tuple[str, dict[str, Any]]]:
    """The (name, meta) pairs a listing should return for `texts`, sorted by name."""
    return sorted(
        (text["name"], text["meta"])
        for text in texts
        if category is None or text["meta"]["category"] == category
    )


def listed(answer: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The (name, meta) pairs of a `list_files` view answer, sorted by name; checks the count too."""
    assert answer["count"] == len(answer["files"])
    return sorted((file["name"], file["meta"]) for file in answer["files"])


def direct_report(count: int) -> dict[str, Any]:
    """The `upload_texts` view answer for `count` files uploaded with `POST files` (no session)."""
    return {
        "total_files": count,
        "successful_upload_count": count,
        "failed_upload_count": 0,
        "failed": [],
        "session_count": 0,
        "ingestion": None,
    }


def session_report(count: int) -> dict[str, Any]:
    """The `upload_texts` view answer for `count` files with metadata uploaded in one blocking session.

    Like the official SDK, the session path counts uploaded objects: each file plus its `.meta.json` sidecar;
    ingestion counts files.
    """
    return {
        "total_files": 2 * count,
        "successful_upload_count": 2 * count,
        "failed_upload_count": 0,
        "failed": [],
        "session_count": 1,
        "ingestion": {"finished_files": count, "failed_files": 0},
    }


def list_requests(emulator: Any) -> int:
    """How many `list_files` requests the emulator has answered so far."""
    count: int = emulator.stats()["requests"].get("list_files", 0)
    return count


# A view that stops after the first page leaves the facade's iterator early. The async generator may have
# run ahead by its hand-over buffer (`_portal.ITERATE_BUFFER` + the item being handed over), never further.
MAX_PAGES_FETCHED_AFTER_EARLY_STOP = 3
