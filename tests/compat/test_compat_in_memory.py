"""`upload_texts` and `upload_bytes` of the official SDK, below (direct) and above (session) 20 files."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from .sdk_runner import SdkRunner, flatten, step

pytestmark = pytest.mark.compat


def text_file(name: str, text: str, meta: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "text": text}
    if meta is not None:
        spec["meta"] = meta
    return spec


def bytes_file(name: str, data: bytes, meta: dict[str, Any] | None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "b64": base64.b64encode(data).decode()}
    if meta is not None:
        spec["meta"] = meta
    return spec


def summary(total: int) -> dict[str, Any]:
    return {"total_files": total, "successful_upload_count": total, "failed_upload_count": 0, "failed": []}


@pytest.mark.slow  # the SDK sleeps 2 s per ingestion poll / 1 s per retry
def test_upload_texts_direct_and_through_a_session(sdk: SdkRunner) -> None:
    direct = [
        text_file("with-meta.txt", "first", {"source": "direct"}),
        text_file("empty-meta.txt", "second", {}),
        text_file("no-meta.txt", "third ü", None),
    ]
    # 21 files: the session path; a sidecar object is posted for every file whose meta is not None.
    session = [
        text_file(f"text-{i:02d}.txt", f"text {i} ünïcode €", {"i": i} if i % 4 else None) for i in range(21)
    ]
    with_sidecar = sum(1 for spec in session if "meta" in spec)

    direct_result, session_result, listing = sdk.run(
        step("upload_texts", files=direct, show_progress=False),
        step("upload_texts", files=session, show_progress=False, timeout_s=60),
        step("list_files"),
    )

    assert direct_result["value"] == summary(3)
    assert session_result["value"] == summary(21 + with_sidecar)
    listed = {f["name"]: f for f in flatten(listing["value"])}
    assert sorted(listed) == sorted(spec["name"] for spec in direct + session)
    for spec in direct + session:
        assert listed[spec["name"]]["meta"] == spec.get("meta", {}), spec["name"]
        assert listed[spec["name"]]["size"] == len(spec["text"].encode()), spec["name"]


@pytest.mark.slow  # the SDK sleeps 2 s per ingestion poll / 1 s per retry
def test_upload_bytes_direct_and_through_a_session(sdk: SdkRunner, tmp_path: Path) -> None:
    direct = [
        bytes_file("binary.pdf", b"%PDF-1.4\n" + bytes(range(256)), {"kind": "pdf"}),
        bytes_file("sheet.xlsx", b"PK\x03\x04" + b"\x00\xff" * 50, None),
    ]
    session = [
        bytes_file(f"blob-{i:02d}.bin", bytes([i]) * (i + 1) + b"\x00\x80\xfe", {"i": i} if i % 3 else None)
        for i in range(21)
    ]
    with_sidecar = sum(1 for spec in session if "meta" in spec)
    target = tmp_path / "downloaded"

    direct_result, session_result, _ = sdk.run(
        step("upload_bytes", files=direct, show_progress=False),
        step("upload_bytes", client="async", files=session, show_progress=False, timeout_s=60),
        step("download", file_dir=str(target), include_meta=True, show_progress=False),
    )

    assert direct_result["value"] == summary(2)
    assert session_result["value"] == summary(21 + with_sidecar)
    specs = direct + session
    assert sorted(p.name for p in target.iterdir() if not p.name.endswith(".meta.json")) == sorted(
        spec["name"] for spec in specs
    )
    for spec in specs:
        assert (target / spec["name"]).read_bytes() == base64.b64decode(spec["b64"]), spec["name"]
        meta = json.loads((target / f"{spec['name']}.meta.json").read_text(encoding="utf-8"))
        assert meta == spec.get("meta", {}), spec["name"]
