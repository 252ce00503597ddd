"""How uploads scale with Ray workers against one emulator (the figures of docs/scale-out.md).

    python -m benchmarks.scaleout_ray --files 2000 --size 8192 --workers 1 2 --rounds 2

Starts one emulator process and a local Ray with as many CPUs as the most workers asked for, then per
round and worker count (interleaved) writes `--files` rows into a fresh workspace with
`DeepsetCloudDatasink` and `write_datasink(concurrency=workers)`, timing the write (storage posts and
session closes, not ingestion). Also times one partition uploaded in the driver process, which is the
"storage posts per second per session" of the model: one process, one session, `s3_concurrency` posts
in flight. Needs the `ray` extra and group (`nox -s ray` installs them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks._emulator_process import emulator_command, server_process

API_KEY = "bench-scaleout-key"


def rows(count: int, size: int) -> list[dict[str, Any]]:
    body = os.urandom(size)
    return [{"path": f"docs/doc-{index:06d}.txt", "bytes": body} for index in range(count)]


def time_ray(api_url: str, data: list[dict[str, Any]], workers: int, rows_per_write: int) -> float:
    import ray

    from deepset_cloud.integrations.ray import DeepsetCloudDatasink

    sink = DeepsetCloudDatasink(
        f"ray-{workers}-{uuid.uuid4().hex[:8]}",
        api_key=API_KEY,
        api_url=api_url,
        rows_per_write=rows_per_write,
    )
    dataset = ray.data.from_items(data).materialize()  # not timed: building the dataset
    started = time.perf_counter()
    dataset.write_datasink(sink, concurrency=workers)
    elapsed = time.perf_counter() - started
    assert sink.report is not None
    assert sink.report.successful_upload_count == len(data), sink.report
    return elapsed


def time_one_session(api_url: str, data: list[dict[str, Any]]) -> float:
    from deepset_cloud.integrations.partition import UploadTarget, upload_partition

    target = UploadTarget(workspace_name=f"one-{uuid.uuid4().hex[:8]}", api_key=API_KEY, api_url=api_url)
    records = [(row["path"].rsplit("/", 1)[-1], row["bytes"]) for row in data]
    started = time.perf_counter()
    result = upload_partition(records, target)
    elapsed = time.perf_counter() - started
    assert result.report.successful_upload_count == len(data)
    assert len(result.session_files) == 1
    return elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=8192, help="bytes per file")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rows-per-write", type=int, default=250)
    args = parser.parse_args(argv)

    import ray

    data = rows(args.files, args.size)
    with tempfile.TemporaryDirectory() as temp:
        command = emulator_command(Path(temp) / "data", API_KEY, "--ingest-delay-s", "0.001")
        with server_process(command, Path(temp) / "emulator.log") as emulator:
            ray.init(num_cpus=max(args.workers), include_dashboard=False, log_to_driver=False)
            try:
                timings: dict[str, list[float]] = {"1 session, driver": []}
                for workers in args.workers:
                    timings[f"ray, {workers} worker(s)"] = []
                time_ray(emulator.url, data[:100], max(args.workers), 50)  # warm up workers and imports
                for _ in range(args.rounds):
                    timings["1 session, driver"].append(time_one_session(emulator.url, data))
                    for workers in args.workers:
                        elapsed = time_ray(emulator.url, data, workers, args.rows_per_write)
                        timings[f"ray, {workers} worker(s)"].append(elapsed)
            finally:
                ray.shutdown()
    print(f"{args.files} files of {args.size} B, {args.rounds} round(s), cores: {os.cpu_count()}")
    for label, values in timings.items():
        best = min(values)
        print(
            f"{label:<22} median {statistics.median(values):6.2f} s  best {best:6.2f} s  "
            f"{args.files / best:7.0f} files/s (best)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
