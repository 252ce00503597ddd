"""Chaos runs: upload a corpus through a faulty (and optionally killed) emulator, then audit the workspace.

One run writes `files` text files, each with a `.meta.json` sidecar (some with names that need care on the
wire: `#`, `%`, `[`, spaces), starts the emulator as a subprocess with a seeded fault mix on storage posts
(10% 503, 5% dropped connections, 3% lost responses - stored, but the answer never arrives -, 2% 429),
uploads the folder with the public `AsyncClient` and compares the workspace with the corpus:

- lost: a corpus file that is not in the workspace (reported failed or not);
- duplicated: a name stored more than once;
- false failures: a file the report calls failed although it is stored;
- wrong meta: a stored file whose metadata is not its sidecar's.

With `kill_every_s`, the emulator is also SIGKILLed at random moments during the upload and restarted on
the same port and data folder. Run `python tests/chaos/chaos_run.py --help` (or `nox -s chaos`).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import attrs

from deepset_cloud import AsyncClient, RetryPolicy
from deepset_cloud.errors import DeepsetCloudError
from deepset_cloud.models import UploadReport

__all__ = ["FAULT_MIX", "ChaosFigures", "main", "run_chaos", "write_corpus"]

API_KEY = "chaos-key"
ADMIN_TOKEN = "chaos-admin"
FAULT_MIX = (
    "route=s3_post,rate=0.10,status=503",
    "route=s3_post,rate=0.05,drop=true",
    "route=s3_post,rate=0.03,lose_response=true",
    "route=s3_post,rate=0.02,status=429",
)
# Quick retries keep a run short; the retry logic is the same as with the default waits. The time budget
# covers an emulator restart (API calls retry through it).
CHAOS_RETRY = RetryPolicy(max_tries=60, base_delay_s=0.01, max_delay_s=0.25, max_time_s=60)
_SPECIAL = ("a#b", "a%b", "a[b", "pct%20", "with space")


@attrs.define
class ChaosFigures:
    """What one run did and what the audit found."""

    seed: int
    files: int
    objects_posted: int = 0
    faults_injected: int = 0
    kills: int = 0
    stored: int = 0
    duplicated: int = 0
    lost: int = 0
    false_failures: int = 0
    wrong_meta: int = 0
    reported_failed: int = 0
    seconds: float = 0.0
    error: str | None = None

    @property
    def ok(self) -> bool:
        """Nothing lost, duplicated, falsely failed or mislabelled, and no error."""
        return (
            self.error is None
            and self.lost == 0
            and self.duplicated == 0
            and self.false_failures == 0
            and self.wrong_meta == 0
            and self.stored == self.files
        )

    def line(self) -> str:
        """One line for the console."""
        status = "ok" if self.ok else "FAIL"
        text = (
            f"seed={self.seed} files={self.files} faults_injected={self.faults_injected} kills={self.kills} "
            f"stored={self.stored} duplicated={self.duplicated} lost={self.lost} "
            f"false_failures={self.false_failures} wrong_meta={self.wrong_meta} "
            f"reported_failed={self.reported_failed} {self.seconds:.1f}s {status}"
        )
        return text if self.error is None else f"{text} error={self.error}"


def write_corpus(root: Path, files: int, seed: int) -> dict[str, dict[str, Any]]:
    """Write `files` text files with sidecars under `root` (in a few folders); return {name: meta}."""
    rng = random.Random(seed)
    expected: dict[str, dict[str, Any]] = {}
    for index in range(files):
        special = _SPECIAL[index % len(_SPECIAL)] if index % 97 == 0 else ""
        name = f"{special}doc{index:05d}.txt"
        folder = root / f"part{index % 4}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"{name} {rng.random()}\n" * (1 + index % 5))
        meta = {"index": index, "seed": seed}
        (folder / f"{name}.meta.json").write_text(json.dumps(meta))
        expected[name] = meta
    return expected


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@attrs.define
class _Emulator:
    data_dir: Path
    port: int
    seed: int
    log: Path
    process: subprocess.Popen[bytes] | None = None
    kills: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        command = [
            sys.executable,
            "-m",
            "deepset_cloud.emulator",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--api-key",
            API_KEY,
            "--admin-token",
            ADMIN_TOKEN,
            "--seed",
            str(self.seed + self.kills),
            "--ingest-delay-s",
            "0.01",
        ]
        for fault in FAULT_MIX:
            command += ["--fault", fault]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log)
        assert self.process.stdout is not None
        line = self.process.stdout.readline().decode().strip()
        if not line.startswith("http"):
            self.stop()
            raise RuntimeError(f"emulator did not start: {self.log.read_text(errors='replace')[-2000:]}")

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self._close_pipe()
        self.kills += 1

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._close_pipe()
        self.process = None

    def _close_pipe(self) -> None:
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


@contextlib.contextmanager
def _emulator(work: Path, seed: int) -> Iterator[_Emulator]:
    emulator = _Emulator(data_dir=work / "state", port=_free_port(), seed=seed, log=work / "emulator.log")
    emulator.start()
    try:
        yield emulator
    finally:
        emulator.stop()


async def _stats(url: str) -> dict[str, Any]:
    import aiohttp

    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    async with aiohttp.ClientSession() as http, http.get(f"{url}/_emulator/stats", headers=headers) as reply:
        reply.raise_for_status()
        stats: dict[str, Any] = await reply.json()
        return stats


async def _kill_loop(
    emulator: _Emulator, every_s: float, rng: random.Random, done: anyio.Event, figures: ChaosFigures
) -> None:
    """SIGKILL the emulator at random moments and restart it on the same port and data folder.

    The first kill comes as soon as storage posts arrive, so that every run has one mid-upload however fast
    the machine uploads; the later ones at random intervals.
    """
    first = True
    while not done.is_set():
        if first:
            first = False
            while not done.is_set() and not (await _stats(emulator.url)).get("s3_objects_received", 0):
                with anyio.move_on_after(0.01):
                    await done.wait()
        else:
            with anyio.move_on_after(rng.uniform(every_s / 2, every_s * 1.5)):
                await done.wait()
        if done.is_set():
            return
        figures.faults_injected += int((await _stats(emulator.url)).get("faults_injected", 0))
        emulator.kill()
        await anyio.to_thread.run_sync(emulator.start)


async def run_chaos(
    seed: int,
    files: int,
    work: Path,
    *,
    kill_every_s: float | None = None,
    ingestion_timeout_s: float = 300,
    show_progress: bool = False,
) -> ChaosFigures:
    """Run one chaos upload in `work` (a fresh folder) and return its audited figures."""
    figures = ChaosFigures(seed=seed, files=files)
    corpus = work / "corpus"
    expected = write_corpus(corpus, files, seed)
    started = time.monotonic()
    with _emulator(work, seed) as emulator:
        api_url = f"{emulator.url}/api/v1"
        client = AsyncClient(api_key=API_KEY, api_url=api_url, workspace_name="chaos", retry=CHAOS_RETRY)
        report: UploadReport | None = None
        async with client:
            done = anyio.Event()
            async with anyio.create_task_group() as tasks:
                if kill_every_s is not None:
                    tasks.start_soon(_kill_loop, emulator, kill_every_s, random.Random(seed), done, figures)
                try:
                    report = await client.upload(
                        [corpus], recursive=True, timeout_s=ingestion_timeout_s, show_progress=show_progress
                    )
                except DeepsetCloudError as exc:
                    figures.error = f"{type(exc).__name__}: {exc}"
                    report = exc.upload_report
                finally:
                    done.set()
            figures.kills = emulator.kills
            stored: Counter[str] = Counter()
            metas: dict[str, Any] = {}
            async for page in client.list_files(batch_size=1000):
                for file in page:
                    stored[file.name] += 1
                    metas[file.name] = file.meta
            stats = await _stats(emulator.url)
    figures.seconds = time.monotonic() - started
    figures.faults_injected += int(stats.get("faults_injected", 0))  # plus those counted before each kill
    figures.objects_posted = int(stats.get("s3_objects_received", 0))
    figures.stored = sum(1 for name in stored if name in expected)
    figures.duplicated = sum(count - 1 for count in stored.values() if count > 1)
    figures.lost = sum(1 for name in expected if name not in stored)
    figures.wrong_meta = sum(1 for name, meta in expected.items() if name in metas and metas[name] != meta)
    failed = [] if report is None else [result.file_name for result in report.failed]
    figures.reported_failed = len(failed)
    figures.false_failures = sum(1 for name in failed if name in stored)
    return figures


def main(argv: list[str] | None = None) -> int:
    """Run seeded chaos uploads and print their figures; exit 1 if any run lost, duplicated or misreported."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10, help="seeded fault runs (default 10)")
    parser.add_argument("--files", type=int, default=2000, help="files per run, each with a sidecar")
    parser.add_argument("--kill-runs", type=int, default=3, help="runs with SIGKILL-and-restart (default 3)")
    parser.add_argument("--kill-every-s", type=float, default=2.0, help="mean seconds between kills")
    parser.add_argument("--first-seed", type=int, default=1)
    arguments = parser.parse_args(argv)
    plan: list[tuple[int, float | None]] = [
        (seed, None) for seed in range(arguments.first_seed, arguments.first_seed + arguments.runs)
    ]
    first_kill_seed = arguments.first_seed + arguments.runs
    plan += [(first_kill_seed + index, arguments.kill_every_s) for index in range(arguments.kill_runs)]
    results: list[ChaosFigures] = []
    for seed, kill_every_s in plan:
        with tempfile.TemporaryDirectory(prefix=f"chaos-{seed}-") as folder:
            figures = anyio.run(
                lambda: run_chaos(seed, arguments.files, Path(folder), kill_every_s=kill_every_s)  # noqa: B023
            )
        results.append(figures)
        print(("kill " if kill_every_s else "     ") + figures.line(), flush=True)
    totals = {
        name: sum(getattr(figures, name) for figures in results)
        for name in ("files", "faults_injected", "kills", "stored", "duplicated", "lost", "false_failures")
    }
    failures = sum(1 for figures in results if not figures.ok)
    print(
        "total " + " ".join(f"{name}={value}" for name, value in totals.items()) + f" failed_runs={failures}"
    )
    return 1 if failures else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    raise SystemExit(main())
