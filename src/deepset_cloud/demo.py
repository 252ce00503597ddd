"""The quickstart's main job: upload a generated corpus into a local emulator and summarise it.

Run it with `python -m deepset_cloud.demo` (or `nox -s demo`). It starts an emulator of the deepset
Cloud API in a background thread, writes a folder of text files (half of them with `.meta.json`
sidecars), uploads the folder with the sync facade, shows progress bars, waits for ingestion, and
prints what happened. Nothing leaves this machine.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from deepset_cloud.models import UploadReport

_CATEGORIES = ("news", "research", "legal", "support")
_DEMO_KEY = "demo-api-key"


def write_corpus(root: Path, count: int) -> Path:
    """Write `count` small text files under `root/corpus` (in a few subfolders); every other one gets a sidecar."""
    corpus = root / "corpus"
    for index in range(count):
        folder = corpus / f"part-{index % 8}"
        folder.mkdir(parents=True, exist_ok=True)
        document = folder / f"document-{index:05d}.txt"
        document.write_text(
            f"Document {index}.\nA short text about {_CATEGORIES[index % 4]}.\n", encoding="utf-8"
        )
        if index % 2 == 0:
            meta = {"category": _CATEGORIES[index % 4], "index": index}
            (folder / f"{document.name}.meta.json").write_text(json.dumps(meta), encoding="utf-8")
    return corpus


def format_report(report: UploadReport, elapsed_s: float | None = None) -> str:
    """Render an upload report as a few human-readable lines."""
    took = "" if elapsed_s is None else f" in {elapsed_s:.1f} s"
    lines = [
        f"Uploaded {report.successful_upload_count} of {report.total_files} objects "
        f"({report.failed_upload_count} failed, {len(report.skipped)} skipped){took}.",
        f"Upload sessions: {len(report.session_ids)}.",
    ]
    if report.ingestion is not None:
        lines.append(
            f"Ingested: {report.ingestion.finished_files} finished, {report.ingestion.failed_files} failed."
        )
    lines.extend(f"  failed: {result.file_name}: {result.reason}" for result in report.failed[:10])
    lines.extend(f"  skipped: {skipped.path}: {skipped.reason}" for skipped in report.skipped[:10])
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m deepset_cloud.demo") -> int:
    """Run the demo; returns the process exit code (non-zero if any file failed)."""
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument(
        "--files", type=int, default=2000, help="number of documents to generate (default 2000)"
    )
    parser.add_argument("--workspace", default="demo", help="workspace to upload into (default: demo)")
    parser.add_argument("--no-progress", action="store_true", help="do not show progress bars")
    args = parser.parse_args(argv)

    # Imported here so that `--help` stays instant and the emulator extra is only needed to run.
    from deepset_cloud.emulator import Emulator, EmulatorConfig
    from deepset_cloud.sync_client import files

    with tempfile.TemporaryDirectory(prefix="deepset-cloud-demo-") as tmp:
        root = Path(tmp)
        corpus = write_corpus(root, args.files)
        config = EmulatorConfig(data_dir=root / "emulator", api_keys=(_DEMO_KEY,), ingest_delay_s=0.0)
        emulator = Emulator.start_in_thread(config, host="127.0.0.1", port=0)
        try:
            print(f"Local deepset Cloud emulator at {emulator.api_url}")
            print(f"Uploading {corpus} ({args.files} documents, {args.files // 2 + args.files % 2} sidecars)")
            started = time.perf_counter()
            report = files.upload(
                paths=[corpus],
                api_key=_DEMO_KEY,
                api_url=emulator.api_url,
                workspace_name=args.workspace,
                recursive=True,
                show_progress=not args.no_progress,
            )
            print(format_report(report, time.perf_counter() - started))
            listed = sum(
                len(page)
                for page in files.list_files(
                    api_key=_DEMO_KEY,
                    api_url=emulator.api_url,
                    workspace_name=args.workspace,
                    odata_filter="category eq 'news'",
                )
            )
            print(f"Files with category 'news' listed through an OData filter: {listed}")
        finally:
            emulator.stop()
    return 1 if report.failed_upload_count else 0


if __name__ == "__main__":
    try:
        raise SystemExit(main())
    except ModuleNotFoundError as error:
        if error.name != "odata_query":
            raise
        print(f"error: {error}", file=sys.stderr)  # names the `emulator` extra
        raise SystemExit(2) from None
