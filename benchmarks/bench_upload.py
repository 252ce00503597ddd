"""Upload throughput of our SDK next to a bare aiohttp client (and the official SDK) against the emulator.

Generates `--files` files of `--size` bytes, each with a `.meta.json` sidecar, starts ONE emulator
subprocess (temp data dir, persistence on, small ingest delay) and then, interleaved over `--rounds`
rounds, runs every contender in its own fresh subprocess against a fresh workspace:

- `ours`: `deepset_cloud.async_client.files.upload(paths=[dir], blocking=False, show_progress=False)`;
- `bare`: plain aiohttp: create a session, post every object with a prebuilt multipart body (policy
  fields, then the `file` part last), file bodies read from disk, at our default concurrency; close it;
- `official`: `deepset_cloud_sdk.workflows.async_client.files.upload(..., blocking=False,
  show_progress=False)` with an isolated environment (HOME in the temp dir, no API_* variables);
- `ours-blocking` (with `--blocking`): like `ours` with `blocking=True` (upload plus ingestion wait).

Between contenders the emulator finishes ingesting, so no run pays for the previous one's ingestion.
Per contender it reports the medians over rounds of: files/s (raw files; objects/s counts sidecars
too), client CPU per file (user+sys of the child during the upload call, and of the whole child process
including interpreter start and imports) and the child's peak RSS (ru_maxrss).

    python -m benchmarks.bench_upload                          # 5,000 files, 3 rounds
    python -m benchmarks.bench_upload --rounds 1 --contenders ours,bare --cprofile /tmp/ours.prof
    python -m benchmarks.bench_upload --contenders ours,bare --py-spy /tmp/ours.txt   # sampled stacks

The children inherit PYTHONPATH, so `PYTHONPATH=/path/to/other/src` measures another copy of the SDK
(and emulator), e.g. the code before a change.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from benchmarks._emulator_process import emulator_command, server_process
from benchmarks._upload_contenders import API_KEY, CONTENDERS

ADMIN_TOKEN = "bench-upload-admin"
_ENV_DROP_PREFIXES = ("API_", "DEEPSET", "DEFAULT_WORKSPACE")


@attrs.frozen
class Measurement:
    """One contender's run, as reported by its child process (CPU from the parent's view too)."""

    contender: str
    files: int
    objects: int
    wall_s: float
    phase_cpu_s: float
    process_cpu_s: float
    peak_rss_kib: int

    @property
    def files_per_s(self) -> float:
        return self.files / self.wall_s

    @property
    def objects_per_s(self) -> float:
        return self.objects / self.wall_s

    @property
    def phase_cpu_ms_per_file(self) -> float:
        return self.phase_cpu_s / self.files * 1e3

    @property
    def process_cpu_ms_per_file(self) -> float:
        return self.process_cpu_s / self.files * 1e3

    @property
    def peak_rss_mib(self) -> float:
        return self.peak_rss_kib / 1024

    def line(self) -> str:
        return (
            f"{self.files_per_s:7.0f} files/s  {self.phase_cpu_ms_per_file:6.3f} ms CPU/file "
            f"(process {self.process_cpu_ms_per_file:6.3f})  {self.peak_rss_mib:6.1f} MiB  "
            f"{self.wall_s:6.2f} s"
        )


# -- inputs and ingestion -------------------------------------------------------------------------------


def make_inputs(folder: Path, count: int, size: int) -> None:
    """Write `count` text files of `size` bytes, each with a small JSON sidecar."""
    folder.mkdir(parents=True)
    filler = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    for index in range(count):
        name = f"file-{index:06d}.txt"
        (folder / name).write_bytes(filler)
        (folder / f"{name}.meta.json").write_text(json.dumps({"index": index, "source": "bench"}))


def _get_json(url: str) -> Any:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {API_KEY}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


def wait_for_ingestion(api_url: str, workspace: str, files: int, deadline_s: float = 120.0) -> None:
    """Poll the workspace's sessions until `files` raw files are ingested (so runs do not overlap)."""
    base = f"{api_url}/workspaces/{workspace}/upload_sessions"
    deadline = time.monotonic() + deadline_s
    while True:
        sessions = _get_json(f"{base}?limit=100&page_number=1")["data"]
        done = 0
        for session in sessions:
            status = _get_json(f"{base}/{session['session_id']}")["ingestion_status"]
            done += status["finished_files"] + status["failed_files"]
        if done >= files:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{workspace}: only {done} of {files} files ingested after {deadline_s} s")
        time.sleep(0.1)


# -- one contender run (parent side) -------------------------------------------------------------------


def _child_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_ENV_DROP_PREFIXES)}
    env["HOME"] = str(home)
    # The child runs in the isolated HOME, so `benchmarks` must be found through the path.
    repo = str(Path(__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (repo, env.get("PYTHONPATH"))))
    return env


def run_contender(
    contender: str, *, api_url: str, workspace: str, source: Path, workdir: Path, args: argparse.Namespace
) -> Measurement:
    """Run one contender in a fresh child process and return what it measured."""
    result_file = workdir / f"{workspace}.json"
    home = workdir / f"home-{workspace}"
    home.mkdir()
    command = [
        sys.executable,
        "-m",
        "benchmarks._upload_contenders",
        contender,
        "--api-url",
        api_url,
        "--workspace",
        workspace,
        "--source",
        str(source),
        "--result",
        str(result_file),
        "--concurrency",
        str(args.concurrency),
    ]
    if args.cprofile and contender == args.profile_contender:
        command += ["--cprofile-out", str(args.cprofile)]
    if args.py_spy and contender == args.profile_contender:
        # Sampling profile of the whole child (collapsed stacks); its CPU adds to the process column.
        py_spy = str(Path(sys.executable).with_name("py-spy"))
        command = [
            py_spy,
            "record",
            "--format",
            "raw",
            "--rate",
            "1000",
            "-o",
            str(args.py_spy),
            "--",
            *command,
        ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # cwd = the isolated HOME: no ./.env of the repo is picked up by either SDK.
    with (workdir / f"{workspace}.log").open("wb") as log:
        try:
            completed = subprocess.run(
                command, cwd=home, env=_child_env(home), stdout=log, stderr=log, timeout=args.child_timeout_s
            )
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{contender} took longer than {args.child_timeout_s} s") from None
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        tail = (workdir / f"{workspace}.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"{contender} failed with exit code {completed.returncode}:\n{tail}")
    child = json.loads(result_file.read_text())
    process_cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if contender != "ours-blocking":
        wait_for_ingestion(api_url, workspace, child["files"])
    return Measurement(
        contender=contender,
        files=child["files"],
        objects=child["objects"],
        wall_s=child["wall_s"],
        phase_cpu_s=child["cpu_s"],
        process_cpu_s=process_cpu,
        peak_rss_kib=child["peak_rss_kib"],
    )


# -- report --------------------------------------------------------------------------------------------


def _median(results: Sequence[Measurement], field: str) -> float:
    return statistics.median(float(getattr(result, field)) for result in results)


def summary_table(results: dict[str, list[Measurement]]) -> str:
    """The medians per contender, then the ratios of ours to the others."""
    header = (
        f"{'contender':14} {'files/s':>8} {'objects/s':>10} {'CPU ms/file':>12} "
        f"{'proc CPU ms/file':>17} {'peak RSS MiB':>13} {'wall s':>7}"
    )
    lines = [header, "-" * len(header)]
    for contender, runs in results.items():
        lines.append(
            f"{contender:14} {_median(runs, 'files_per_s'):8.0f} {_median(runs, 'objects_per_s'):10.0f} "
            f"{_median(runs, 'phase_cpu_ms_per_file'):12.3f} {_median(runs, 'process_cpu_ms_per_file'):17.3f} "
            f"{_median(runs, 'peak_rss_mib'):13.1f} {_median(runs, 'wall_s'):7.2f}"
        )
    if "ours" in results:
        for other in ("bare", "official"):
            if other in results:
                lines.append(_ratio_line(results["ours"], results[other], other))
    return "\n".join(lines)


def _ratio_line(ours: Sequence[Measurement], theirs: Sequence[Measurement], other: str) -> str:
    """Ratios of medians, and for files/s also the median of per-round ratios (robust to load drifting)."""

    def ratio(field: str) -> float:
        return _median(ours, field) / _median(theirs, field)

    paired = statistics.median(a.files_per_s / b.files_per_s for a, b in zip(ours, theirs, strict=True))
    return (
        f"ours/{other}: files/s x{ratio('files_per_s'):.2f} (median of per-round ratios x{paired:.2f}), "
        f"CPU/file x{ratio('phase_cpu_ms_per_file'):.2f} (process x{ratio('process_cpu_ms_per_file'):.2f}), "
        f"peak RSS x{ratio('peak_rss_mib'):.2f}"
    )


def _default_tmp_dir() -> Path | None:
    # tmpfs keeps the emulator's per-object file work off a disk shared with other jobs (less noise).
    shm = Path("/dev/shm")
    return shm if shm.is_dir() and os.access(shm, os.W_OK) else None


def build_parser() -> argparse.ArgumentParser:
    from deepset_cloud._upload.options import DEFAULT_S3_CONCURRENCY

    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_upload", description=__doc__.splitlines()[0]
    )
    add = parser.add_argument
    add("--files", type=int, default=5000, help="files (each with a sidecar) (default %(default)s)")
    add("--size", type=int, default=1024, help="file size in bytes (default %(default)s)")
    add(
        "--rounds", type=int, default=3, help="interleaved rounds; medians are reported (default %(default)s)"
    )
    add("--contenders", default="ours,bare,official", help=f"comma-separated, of {', '.join(CONTENDERS)}")
    add("--blocking", action="store_true", help="also run ours with blocking=True (upload + ingestion)")
    add("--concurrency", type=int, default=DEFAULT_S3_CONCURRENCY, help="bare client's concurrent posts")
    add(
        "--ingest-delay-s", type=float, default=0.05, help="the emulator's ingest delay (default %(default)s)"
    )
    add("--tmp-dir", type=Path, default=_default_tmp_dir(), help="where inputs and emulator data go")
    add("--child-timeout-s", type=float, default=180.0, help="give up on a contender after this long")
    add(
        "--cprofile", type=Path, metavar="FILE", help="cProfile (CPU clock) the upload into FILE (last round)"
    )
    add(
        "--py-spy",
        type=Path,
        metavar="FILE",
        help="sample the whole child with py-spy into FILE (raw stacks)",
    )
    add("--profile-contender", default="ours", choices=CONTENDERS, help="what to profile (default ours)")
    add("--keep", action="store_true", help="keep the temporary folder (logs) and print its path")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 0, or 1 if a contender failed."""
    args = build_parser().parse_args(argv)
    contenders = [name.strip() for name in args.contenders.split(",") if name.strip()]
    if args.blocking and "ours-blocking" not in contenders:
        contenders.append("ours-blocking")
    unknown = sorted(set(contenders) - set(CONTENDERS))
    if unknown:
        print(f"unknown contenders: {unknown}; choose from {CONTENDERS}", file=sys.stderr)
        return 2
    workdir = Path(tempfile.mkdtemp(prefix="bench-upload-", dir=args.tmp_dir))
    try:
        source = workdir / "inputs"
        make_inputs(source, args.files, args.size)
        print(
            f"{args.files} files of {args.size} B + {args.files} sidecars, {args.rounds} round(s), "
            f"concurrency {args.concurrency}, {os.cpu_count()} CPUs, temp dir {workdir}",
            flush=True,
        )
        results: dict[str, list[Measurement]] = {name: [] for name in contenders}
        command = emulator_command(
            workdir / "emulator-data",
            API_KEY,
            "--admin-token",
            ADMIN_TOKEN,
            "--ingest-delay-s",
            str(args.ingest_delay_s),
        )
        with server_process(command, workdir / "emulator.log") as emulator:
            api_url = emulator.url
            for round_index in range(args.rounds):
                # A different contender goes first each round, so none always runs on a "fresh" machine.
                shift = round_index % len(contenders)
                for contender in contenders[shift:] + contenders[:shift]:
                    workspace = f"{contender}-r{round_index + 1}"
                    measurement = run_contender(
                        contender,
                        api_url=api_url,
                        workspace=workspace,
                        source=source,
                        workdir=workdir,
                        args=args,
                    )
                    results[contender].append(measurement)
                    print(f"  round {round_index + 1} {contender:14} {measurement.line()}", flush=True)
        print(summary_table(results))
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
