"""`download(include_meta=True)` of the official SDK writes every file and its `<name>.meta.json`."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from .sdk_runner import SdkRunner, step

pytestmark = pytest.mark.compat

BINARY = bytes(range(256)) * 3  # every byte value, not valid UTF-8


def blob(name: str, data: bytes, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": name, "b64": base64.b64encode(data).decode()}
    if meta is not None:
        spec["meta"] = meta
    return spec


FILES = [
    blob("plain.txt", b"plain text\n", {"category": "news", "rank": 1}),
    blob("scan.pdf", b"%PDF-1.7\n" + BINARY, {"category": "legal", "nested": {"a": [1, 2]}}),
    blob("no-meta.md", b"# no metadata\n"),
    blob("space and ü.txt", "grüße\n".encode(), {"lang": "de"}),
    # Two files of one name (write mode KEEP keeps both); the SDK saves the second as dup_1.txt.
    blob("dup.txt", b"first dup", {"copy": 1}),
    blob("dup.txt", b"second dup", {"copy": 2}),
    blob("empty-meta.csv", b"a,b\n1,2\n", {}),
]


def test_download_writes_every_file_with_its_bytes_and_metadata(sdk: SdkRunner, tmp_path: Path) -> None:
    target = tmp_path / "downloaded"
    upload, _ = sdk.run(
        step("upload_bytes", files=FILES, show_progress=False),
        # Small pages, so the download follows the cursor; the SDK default shows progress (probe limit=1).
        step("download", file_dir=str(target), include_meta=True, batch_size=2),
    )
    assert upload["value"]["successful_upload_count"] == len(FILES)

    written = sorted(p.name for p in target.iterdir())
    singles = ["plain.txt", "scan.pdf", "no-meta.md", "space and ü.txt", "empty-meta.csv"]
    dups = ["dup.txt", "dup_1.txt"]
    assert written == sorted(f"{name}{suffix}" for name in singles + dups for suffix in ("", ".meta.json"))
    for spec in FILES:
        if spec["name"] == "dup.txt":
            continue
        path = target / spec["name"]
        assert path.read_bytes() == base64.b64decode(spec["b64"]), spec["name"]
        meta_text = (target / f"{spec['name']}.meta.json").read_text(encoding="utf-8")
        assert json.loads(meta_text) == spec.get("meta", {}), spec["name"]

    # Which copy became dup_1.txt depends on timing; each copy must keep its own metadata.
    pairs = {
        (target / name).read_bytes(): json.loads((target / f"{name}.meta.json").read_text(encoding="utf-8"))
        for name in ("dup.txt", "dup_1.txt")
    }
    assert pairs == {b"first dup": {"copy": 1}, b"second dup": {"copy": 2}}
