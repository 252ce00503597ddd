"""Per-call latency of the sync facade versus the async API, against the emulator in one run.

Starts the emulator as a subprocess (temp data dir), opens one upload session, then times
`get_upload_session` calls in interleaved blocks (the order alternates each round, so drift and noise
hit every contender alike), all in this process against the same emulator:

- `async`: `await files.get_upload_session(...)` on a loop in this thread (timed inside the loop; the
  first call of each block, which opens the connection, is not timed),
- `sync`: `deepset_cloud.sync_client.files.get_upload_session(...)` (one hop to the SDK's loop thread),
- `sync Client`: `Client.get_upload_session(...)`.

It prints the median and p95 of every contender and the ratio of the sync median to the async one
(target: at most 1.5).

    python -m benchmarks.bench_sync_latency [--rounds 15] [--calls 100] [--strict]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

import anyio

from benchmarks._emulator_process import emulator_command, server_process
from deepset_cloud import Client, DeepsetCloudFile
from deepset_cloud.async_client import files as async_files
from deepset_cloud.sync_client import files as sync_files

API_KEY = "bench-api-key"
WORKSPACE = "bench-latency"
TARGET_RATIO = 1.5
ASYNC = "async (await files.get_upload_session)"


def open_session(api_url: str) -> UUID:
    """Upload enough texts for one upload session and return its id."""
    documents = [DeepsetCloudFile(text=f"text {i}", name=f"doc-{i}.txt") for i in range(25)]
    report = sync_files.upload_texts(
        documents, api_key=API_KEY, api_url=api_url, workspace_name=WORKSPACE, show_progress=False
    )
    (session_id,) = report.session_ids
    return session_id


def time_async_block(api_url: str, session_id: UUID, calls: int) -> list[float]:
    async def block() -> list[float]:
        async def one() -> None:
            await async_files.get_upload_session(
                session_id, api_key=API_KEY, api_url=api_url, workspace_name=WORKSPACE
            )

        await one()  # opens this loop's connection; not timed
        samples = []
        for _ in range(calls):
            started = time.perf_counter()
            await one()
            samples.append(time.perf_counter() - started)
        return samples

    return anyio.run(block)


def time_sync_block(call: Callable[[], object], calls: int) -> list[float]:
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def p95(samples: Sequence[float]) -> float:
    return statistics.quantiles(samples, n=20)[-1]


def measure(api_url: str, rounds: int, calls: int) -> dict[str, list[float]]:
    """Samples per contender: a warm-up block each, then `rounds` interleaved blocks of `calls` calls."""
    session_id = open_session(api_url)
    credentials = {"api_key": API_KEY, "api_url": api_url, "workspace_name": WORKSPACE}
    with Client(API_KEY, api_url, WORKSPACE) as client:
        contenders: dict[str, Callable[[], list[float]]] = {
            ASYNC: lambda: time_async_block(api_url, session_id, calls),
            "sync (files.get_upload_session)": lambda: time_sync_block(
                lambda: sync_files.get_upload_session(session_id, **credentials), calls
            ),
            "sync (Client.get_upload_session)": lambda: time_sync_block(
                lambda: client.get_upload_session(session_id), calls
            ),
        }
        for run in contenders.values():  # warm-up: imports, the loop thread, connections
            run()
        samples: dict[str, list[float]] = {name: [] for name in contenders}
        order = list(contenders)
        for _ in range(rounds):
            for name in order:
                samples[name] += contenders[name]()
            order.reverse()
    return samples


def report(samples: dict[str, list[float]], rounds: int, calls: int) -> float:
    """Print the table and the ratios; return the largest sync/async ratio of medians."""
    print(
        f"get_upload_session against the emulator (subprocess, loopback), "
        f"{rounds} interleaved rounds x {calls} calls per contender"
    )
    print(f"{'contender':<42} {'median us':>10} {'p95 us':>10}")
    for name, values in samples.items():
        print(f"{name:<42} {statistics.median(values) * 1e6:>10.0f} {p95(values) * 1e6:>10.0f}")
    async_median = statistics.median(samples[ASYNC])
    ratios = {
        name: statistics.median(values) / async_median
        for name, values in samples.items()
        if name.startswith("sync")
    }
    for name, ratio in ratios.items():
        verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
        print(f"ratio {name} / async median: {ratio:.2f} (target <= {TARGET_RATIO}: {verdict})")
    return max(ratios.values())


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_sync_latency", description=__doc__)
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds (default 15)")
    parser.add_argument("--calls", type=int, default=100, help="timed calls per contender and round")
    parser.add_argument("--strict", action="store_true", help=f"exit 1 if sync/async > {TARGET_RATIO}")
    options = parser.parse_args(list(sys.argv[1:] if argv is None else argv))

    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        workdir = Path(folder)
        command = emulator_command(workdir / "data", API_KEY, "--ingest-delay-s", "0")
        with server_process(command, workdir / "emulator.log") as emulator:
            samples = measure(emulator.url, options.rounds, options.calls)
    worst = report(samples, options.rounds, options.calls)
    return 1 if options.strict and worst > TARGET_RATIO else 0


if __name__ == "__main__":
    raise SystemExit(main())
