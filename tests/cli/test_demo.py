"""The quickstart demo, end to end against its own emulator."""

from __future__ import annotations

import pytest

from deepset_cloud import cli


def test_demo_uploads_its_corpus_and_summarises(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["demo", "--files", "60", "--no-progress", "--workspace", "demo-test"]) == 0
    out = capsys.readouterr().out
    assert "Uploaded 90 of 90 objects (0 failed, 0 skipped)" in out  # 60 documents + 30 sidecars
    assert "Ingested: 60 finished, 0 failed." in out
    assert "OData filter: 15" in out  # every 4th document is 'news', and only even ones carry a sidecar
