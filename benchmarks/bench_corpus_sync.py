"""Corpus sync at scale: planning memory at 1,000,000 files and unchanged re-sync time at 100,000 files.

`python -m benchmarks corpus_sync [-- --plan-files N --resync-files M --only plan|resync]`

- plan: a generated corpus of N small files (1000 per folder) is planned by `sync(dry_run=True)` against an
  empty workspace of an emulator in its own process; the sync runs in a child process that reports its
  peak RSS (`ru_maxrss`). Every file is new, so every file is read and hashed. Target: <= 250 MiB.
- resync: M small files are synced once (setup, not timed), then, alternating three times, the whole
  workspace is listed (`list_files`, pages of 1000 files, the page size sync uses) and the unchanged corpus
  is synced again with a warm hash cache. The best times are compared. Target: re-sync <= 2x listing.

Results print as one JSON object per part. Figures depend on the machine: they are not asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import anyio

from benchmarks._emulator_process import REPO_ROOT, emulator_command, server_process

API_KEY = "bench-corpus-key"
_PER_FOLDER = 1_000

_CHILD = """
import asyncio, json, resource, sys, time
from deepset_cloud.async_client.client import AsyncClient

async def main() -> None:
    api_url, root, workspace = sys.argv[1:4]
    async with AsyncClient(api_key=sys.argv[4], api_url=api_url) as client:
        start = time.perf_counter()
        report = await client.sync([root], workspace_name=workspace, recursive=True, dry_run=True,
                                   show_progress=False)
        seconds = time.perf_counter() - start
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"seconds": round(seconds, 1), "peak_rss_mib": round(peak_kib / 1024, 1),
                      "planned_uploads": report.uploaded, "listed_in_report": len(report.planned)}))

asyncio.run(main())
"""


def generate(root: Path, count: int) -> None:
    """Write `count` small distinct text files, 1000 per folder."""
    for index in range(count):
        folder = root / f"d{index // _PER_FOLDER:05}"
        if index % _PER_FOLDER == 0:
            folder.mkdir(parents=True)
        (folder / f"f{index:07}.txt").write_text(f"document {index}\n")


def bench_plan(workdir: Path, files: int) -> dict[str, Any]:
    root = workdir / "plan-corpus"
    start = time.perf_counter()
    generate(root, files)
    generated_s = time.perf_counter() - start
    env = {**os.environ, "DEEPSET_CLOUD_CACHE_DIR": str(workdir / "plan-cache")}
    with server_process(
        emulator_command(workdir / "plan-data", API_KEY), workdir / "plan-emulator.log"
    ) as emu:
        command = [sys.executable, "-c", _CHILD, emu.url, str(root), "bench-plan", API_KEY]
        out = subprocess.run(command, env=env, cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return {"part": "plan", "files": files, "generate_s": round(generated_s, 1), **result, "target_mib": 250}


async def _resync(api_url: str, root: Path, files: int) -> dict[str, Any]:
    from deepset_cloud.async_client.client import AsyncClient

    async with AsyncClient(api_key=API_KEY, api_url=api_url) as client:
        start = time.perf_counter()
        first = await client.sync([root], workspace_name="bench", recursive=True, show_progress=False)
        first_s = time.perf_counter() - start
        if first.uploaded != files or first.failed:
            raise RuntimeError(f"the first sync did not upload everything: {first}")
        list_times, sync_times = [], []
        for _ in range(3):
            start = time.perf_counter()
            listed = 0
            async for page in client.list_files(workspace_name="bench", batch_size=1000, timeout_s=None):
                listed += len(page)
            list_times.append(time.perf_counter() - start)
            if listed != files:
                raise RuntimeError(f"listed {listed} of {files} files")
            start = time.perf_counter()
            again = await client.sync([root], workspace_name="bench", recursive=True, show_progress=False)
            sync_times.append(time.perf_counter() - start)
            if again.unchanged != files or again.uploaded or again.updated:
                raise RuntimeError(f"the re-sync was not a no-op: {again}")
    best_list, best_sync = min(list_times), min(sync_times)
    return {
        "part": "resync",
        "files": files,
        "first_sync_s": round(first_s, 1),
        "list_s": [round(t, 2) for t in list_times],
        "resync_s": [round(t, 2) for t in sync_times],
        "ratio": round(best_sync / best_list, 2),
        "target_ratio": 2.0,
    }


def bench_resync(workdir: Path, files: int) -> dict[str, Any]:
    root = workdir / "resync-corpus"
    generate(root, files)
    os.environ["DEEPSET_CLOUD_CACHE_DIR"] = str(workdir / "resync-cache")
    command = emulator_command(workdir / "resync-data", API_KEY, "--ingest-delay-s", "0")
    with server_process(command, workdir / "resync-emulator.log") as emu:
        return anyio.run(_resync, emu.url, root, files)


def main(argv: list[str]) -> int:
    """Run the selected parts and print one JSON line each."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks corpus_sync")
    parser.add_argument("--plan-files", type=int, default=1_000_000)
    parser.add_argument("--resync-files", type=int, default=100_000)
    parser.add_argument("--only", choices=("plan", "resync"))
    options = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-corpus-") as folder:
        workdir = Path(folder)
        if options.only in (None, "resync"):
            print(json.dumps(bench_resync(workdir, options.resync_files)), flush=True)
        if options.only in (None, "plan"):
            print(json.dumps(bench_plan(workdir, options.plan_files)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
