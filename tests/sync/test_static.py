"""The sync facade and its runtime: no banned event-loop APIs, and ruff passes on them without exemptions.

mypy strict runs over them in `nox -s typing` (all of src, no per-module exemptions).
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "deepset_cloud"
FACADE_FILES = sorted(
    [
        *PACKAGE.joinpath("sync_client").rglob("*.py"),
        *PACKAGE.joinpath("_portal").rglob("*.py"),
    ]
)
BANNED = re.compile(r"asyncio\.run\b|\bget_event_loop\b|\brun_until_complete\b|\bnest_asyncio\b|\bsniffio\b")


def tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def test_the_facade_files_exist() -> None:
    assert [path.relative_to(PACKAGE).as_posix() for path in FACADE_FILES] == [
        "_portal/__init__.py",
        "_portal/bridges.py",
        "_portal/loop.py",
        "sync_client/__init__.py",
        "sync_client/client.py",
        "sync_client/files.py",
    ]


@pytest.mark.parametrize("path", FACADE_FILES, ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_no_private_loops_and_no_loop_patching(path: Path) -> None:
    hits = [
        f"{path.name}:{number}: {line.strip()}"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if BANNED.search(line)
    ]
    assert hits == []


def test_ruff_passes_without_exemptions() -> None:
    files = [str(path) for path in FACADE_FILES]
    check = subprocess.run(
        [tool("ruff"), "check", *files], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    fmt = subprocess.run(
        [tool("ruff"), "format", "--check", *files], capture_output=True, text=True, cwd=ROOT, check=False
    )
    assert fmt.returncode == 0, fmt.stdout + fmt.stderr


@pytest.mark.parametrize("path", FACADE_FILES, ids=lambda path: path.relative_to(PACKAGE).as_posix())
def test_no_inline_exemptions(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "noqa" not in text
    assert "type: ignore" not in text
