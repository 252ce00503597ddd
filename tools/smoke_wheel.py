"""Smoke test of an installed wheel (`nox -s wheel`): upload and list against the emulator, as a user would.

Run with the interpreter of a venv that has the wheel installed (not editable), outside the checkout:
    python tools/smoke_wheel.py                           # the wheel with the `emulator` extra
    python tools/smoke_wheel.py --without-emulator-extra  # the wheel alone: the emulator names its extra
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

EXTRA_HINT = "pip install 'deepset-cloud[emulator]'"
API_KEY = "smoke-key"


def _run(*command: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, env=env)


def check_installed_as_wheel() -> None:
    """The package comes from site-packages, and the script and `python -m` entry points both work."""
    import deepset_cloud

    site = Path(sysconfig.get_paths()["purelib"]).resolve()
    location = Path(deepset_cloud.__file__).resolve()
    assert location.is_relative_to(site), f"deepset_cloud imported from {location}, not from {site}"
    script = Path(sysconfig.get_paths()["scripts"]) / "deepset-cloud"
    for command in ([str(script), "--help"], [sys.executable, "-m", "deepset_cloud", "--help"]):
        result = _run(*command)
        assert result.returncode == 0, (command, result.stdout, result.stderr)
        assert "upload" in result.stdout, (command, result.stdout)
    print(f"ok: deepset_cloud {deepset_cloud.__version__} from {location.parent}")


def check_missing_extra() -> None:
    """Without the extra, every way to start the emulator ends with one line that names the extra."""
    script = str(Path(sysconfig.get_paths()["scripts"]) / "deepset-cloud")
    commands = [
        [script, "emulator"],
        [script, "demo"],
        [sys.executable, "-m", "deepset_cloud", "emulator"],
        [sys.executable, "-m", "deepset_cloud.emulator"],
        [sys.executable, "-m", "deepset_cloud.demo"],
    ]
    for command in commands:
        result = _run(*command)
        lines = result.stderr.strip().splitlines()
        assert result.returncode != 0, (command, result.stdout)
        assert len(lines) == 1, (command, result.stderr)
        assert EXTRA_HINT in lines[0], (command, result.stderr)
        print(f"ok: {' '.join(Path(part).name for part in command)} -> {lines[0]}")
    result = _run(sys.executable, "-c", "from deepset_cloud.emulator import Emulator")
    last_line = result.stderr.strip().splitlines()[-1]
    assert EXTRA_HINT in last_line, result.stderr
    print(f"ok: from deepset_cloud.emulator import Emulator -> {last_line}")


def check_upload_and_listing() -> None:
    """Upload a folder (through an upload session) and texts (direct), then list them with a filter."""
    from deepset_cloud import Client, DeepsetCloudFile
    from deepset_cloud.emulator import Emulator, EmulatorConfig
    from deepset_cloud.sync_client import files

    with tempfile.TemporaryDirectory(prefix="deepset-cloud-smoke-") as tmp:
        root = Path(tmp)
        corpus = root / "corpus"
        corpus.mkdir()
        for i in range(25):
            (corpus / f"doc-{i}.txt").write_text(f"document {i}\n", encoding="utf-8")
        emulator = Emulator.start_in_thread(
            EmulatorConfig(data_dir=root / "emulator", api_keys=(API_KEY,), ingest_delay_s=0.0),
            host="127.0.0.1",
            port=0,
        )
        try:
            url = emulator.api_url
            with Client(api_url=url, api_key=API_KEY, workspace_name="smoke") as client:
                report = client.upload(paths=[corpus], show_progress=False)
                assert report.successful_upload_count == 25, report
                assert report.failed_upload_count == 0, report
                assert report.session_ids, "25 files should go through an upload session"
                texts = [DeepsetCloudFile(text="hello", name="hello.txt", meta={"lang": "en"})]
                report = client.upload_texts(files=texts, show_progress=False)
                assert report.successful_upload_count == 1, report
                names = sorted(f.name for page in client.list_files() for f in page)
            assert names == sorted([*(f"doc-{i}.txt" for i in range(25)), "hello.txt"]), names
            pages = files.list_files(
                api_url=url, api_key=API_KEY, workspace_name="smoke", odata_filter="lang eq 'en'"
            )
            english = [f.name for page in pages for f in page]
            assert english == ["hello.txt"], english
            env = {**os.environ, "API_URL": emulator.api_url, "API_KEY": API_KEY}
            result = _run(
                sys.executable, "-m", "deepset_cloud", "list-files", "--workspace-name", "smoke", env=env
            )
            assert result.returncode == 0, (result.stdout, result.stderr)
            assert "hello.txt" in result.stdout, result.stdout
        finally:
            emulator.stop()
    print(f"ok: uploaded 26 files into the emulator and listed {len(names)} back")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--without-emulator-extra", action="store_true")
    args = parser.parse_args()
    check_installed_as_wheel()
    if args.without_emulator_extra:
        check_missing_extra()
    else:
        check_upload_and_listing()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
