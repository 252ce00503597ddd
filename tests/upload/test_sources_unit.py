"""Which paths are URLs, and the error when a URL's filesystem package is not installed."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deepset_cloud._upload.discovery import discover_paths
from deepset_cloud._upload.sources import is_url
from deepset_cloud.errors import ConfigurationError


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("s3://bucket/docs/", True),
        ("memory://corpus", True),
        ("file:///tmp/a.txt", True),
        ("gcs+https://x/y", True),
        (Path("s3://bucket"), False),  # a Path is always local
        ("docs/a.txt", False),
        ("C:\\docs\\a.txt", False),
        ("://nothing", False),
        ("3s://bucket", False),
    ],
)
def test_is_url(path: object, expected: bool) -> None:
    assert is_url(path) is expected


def test_a_url_without_fsspec_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    # As if fsspec were not installed: importing it raises ImportError.
    monkeypatch.setitem(sys.modules, "fsspec", None)
    monkeypatch.setitem(sys.modules, "fsspec.core", None)
    with pytest.raises(ConfigurationError) as caught:
        discover_paths(["s3://bucket/docs/"], recursive=False, file_types=frozenset({".txt"}))
    assert "s3://bucket/docs/" in str(caught.value)
    assert "deepset-cloud[s3]" in str(caught.value)
