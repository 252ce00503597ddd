"""The benchmark matrix: this SDK (sync and async) next to the official SDK and a bare aiohttp ceiling.

One emulator subprocess is pinned to one core, every contender runs in a fresh child process pinned to
another core (the parent shares the server's core), rounds are interleaved (A B C, then B C A, ...), and
every row reports medians with min-max, the client's and the server's CPU share of the wall time (a row
whose server share is near 100 % is limited by the server and says so) and ratios computed per round.

Rows: uploads of {2,000, 10,000, 100,000} files x {without, with} sidecars, `blocking=True` (how long
after the last file's ingestion the call returns), one 1 GiB file, upload_texts, list_files (batch 100
and 1,000), download, the per-call latency of get_upload_session (first call and median) and the import
time of `deepset_cloud.sync_client` and of `deepset-cloud --help`.

    python -m benchmarks.bench_matrix            # the whole matrix (~12 min on a quiet 2-core VM)
    python -m benchmarks.bench_matrix --quick    # every row, smaller and fewer rounds (~3 min)
    python -m benchmarks.bench_matrix --rows upload-2k,call --rounds 5

Upload runs use `blocking=False` and the emulator is reset after each run (its ingestion is not part of
the measured work); `bare` posts with 32 in flight. The official SDK is left out of the 100,000-file rows
in the default matrix (it would take ~8 minutes alone); `--official-everywhere` puts it back.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import attrs

from benchmarks._emulator_process import emulator_command, server_process
from benchmarks._matrix_child import API_KEY

ADMIN_TOKEN = "bench-matrix-admin"
SERVER_LIMITED_SHARE = 0.85  # a server busier than this during the call is the bottleneck
_ENV_DROP_PREFIXES = ("API_", "DEEPSET", "DEFAULT_WORKSPACE")
_REPO = Path(__file__).resolve().parents[1]


@attrs.frozen
class Row:
    """One row of the matrix: a task, its contenders and what the child needs to know."""

    key: str
    label: str
    task: str
    contenders: tuple[str, ...]
    unit: str
    rounds: int
    options: dict[str, Any] = attrs.field(factory=dict)
    objects_per_item: int = 1


@attrs.frozen
class Run:
    """What one child reported (plus what the parent measured afterwards)."""

    contender: str
    items: int
    wall_s: float
    cpu_s: float
    server_cpu_s: float
    peak_rss_kib: int
    first_post_s: float | None = None
    first_call_s: float | None = None
    median_call_s: float | None = None
    after_ingestion_s: float | None = None

    @property
    def rate(self) -> float:
        return self.items / self.wall_s


# -- machinery ---------------------------------------------------------------------------------------------


def _cores() -> tuple[set[int], set[int]]:
    """(server cores, client cores): one core each when there are two or more."""
    available = sorted(os.sched_getaffinity(0))
    if len(available) < 2:
        return set(available), set(available)
    return {available[0]}, {available[1]}


def _child_env(home: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(_ENV_DROP_PREFIXES)}
    env["HOME"] = str(home)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(_REPO), env.get("PYTHONPATH"))))
    return env


class Bench:
    """The emulator, the temp folder and the child runs of one matrix."""

    def __init__(
        self,
        workdir: Path,
        api_url: str,
        server_pid: int,
        client_cores: set[int],
        size: int,
        sources: dict[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.sources = sources or {}
        self.size = size
        self.api_url = api_url
        self.server_pid = server_pid
        self.client_cores = client_cores
        self.home = workdir / "home"  # isolated HOME and cwd: no .env or config of the user is read
        self.home.mkdir(exist_ok=True)
        self._runs = 0

    def child(self, task: str, contender: str, workspace: str, *extra: str) -> dict[str, Any]:
        self._runs += 1
        result = self.workdir / f"result-{self._runs}.json"
        env = _child_env(self.home)
        # `async:main` is this SDK's async API from the tree given as `--src main=PATH`.
        contender, _, source = contender.partition(":")
        if source:
            env["PYTHONPATH"] = os.pathsep.join((self.sources[source], env["PYTHONPATH"]))
        command = [
            sys.executable,
            "-m",
            "benchmarks._matrix_child",
            task,
            contender,
            "--result",
            str(result),
            "--api-url",
            self.api_url,
            "--workspace",
            workspace_name(workspace),
            "--server-pid",
            str(self.server_pid),
            *extra,
        ]
        log = self.workdir / f"child-{self._runs}.log"
        cores = self.client_cores
        with log.open("wb") as sink:
            completed = subprocess.run(
                command,
                cwd=self.home,
                env=env,
                stdout=sink,
                stderr=sink,
                timeout=900,
                preexec_fn=lambda: os.sched_setaffinity(0, cores),
            )
        if completed.returncode != 0:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{task} {contender} failed ({completed.returncode}):\n{tail}")
        data: dict[str, Any] = json.loads(result.read_text())
        return data

    def admin(self, method: str, path: str) -> None:
        base = self.api_url.split("/api/v1")[0]
        request = urllib.request.Request(
            f"{base}/_emulator/{path}", method=method, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
        )
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()

    def reset(self) -> None:
        """Forget every workspace, file and blob (keeps the store small and every run alike)."""
        self.admin("POST", "reset")


def workspace_name(label: str) -> str:
    """A workspace name made of a row's and a contender's labels (which may hold `:` or `@`)."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", label)


def _run_of(contender: str, data: dict[str, Any], **extra: Any) -> Run:
    return Run(
        contender=contender,
        items=int(data["items"]),
        wall_s=float(data["wall_s"]),
        cpu_s=float(data["cpu_s"]),
        server_cpu_s=float(data["server_cpu_s"]),
        peak_rss_kib=int(data["peak_rss_kib"]),
        first_post_s=data.get("first_post_s"),
        first_call_s=data.get("first_call_s"),
        median_call_s=data.get("median_call_s"),
        **extra,
    )


def interleaved(contenders: Sequence[str], rounds: int) -> Iterator[tuple[int, str]]:
    """(round, contender): A B C, B C A, C A B, ... so none always runs first."""
    for index in range(rounds):
        shift = index % len(contenders)
        for contender in (*contenders[shift:], *contenders[:shift]):
            yield index, contender


def last_ingested_at(api_url: str, workspace: str) -> float:
    """The newest `created_at` of the workspace's files (when the emulator ingested the last one)."""
    from deepset_cloud.sync_client import files

    newest = 0.0
    pages = files.list_files(
        api_key=API_KEY, api_url=api_url, workspace_name=workspace_name(workspace), batch_size=1000
    )
    for page in pages:
        for file in page:
            newest = max(newest, file.created_at.timestamp())
    return newest


# -- inputs ------------------------------------------------------------------------------------------------


def make_files(folder: Path, count: int, size: int, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    filler = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    for index in range(start, count):
        (folder / f"file-{index:06d}.txt").write_bytes(filler)


def add_sidecars(folder: Path, count: int) -> None:
    for index in range(count):
        (folder / f"file-{index:06d}.txt.meta.json").write_text(
            json.dumps({"index": index, "source": "bench"})
        )


def make_big_file(folder: Path, size: int) -> None:
    folder.mkdir(parents=True)
    chunk = os.urandom(1 << 20)
    with (folder / "big.txt").open("wb") as file:
        for _ in range(size >> 20):
            file.write(chunk)


# -- the rows ------------------------------------------------------------------------------------------------


def upload_rows(args: argparse.Namespace) -> list[Row]:
    rows = []
    for count in args.sizes:
        big = count >= 50_000
        contenders: tuple[str, ...] = ("sync", "async", "official", "bare")
        if big and not args.official_everywhere:
            contenders = ("sync", "bare")
        rounds = 1 if big and not args.quick else args.rounds
        for sidecars in (False, True):
            key = f"upload-{count // 1000}k{'-meta' if sidecars else ''}"
            label = f"upload {count:,} files, {'with' if sidecars else 'no'} sidecars"
            rows.append(
                Row(
                    key,
                    label,
                    "upload",
                    contenders,
                    "files/s",
                    rounds,
                    {"count": count, "sidecars": sidecars},
                    2 if sidecars else 1,
                )
            )
    return rows


def run_upload_rows(bench: Bench, rows: Sequence[Row], report: Callable[[Row, list[Run]], None]) -> None:
    by_count: dict[int, list[Row]] = {}
    for row in rows:
        by_count.setdefault(row.options["count"], []).append(row)
    for count, group in by_count.items():
        source = bench.workdir / f"files-{count}"
        make_files(source, count, bench.size)
        for row in sorted(group, key=lambda r: r.options["sidecars"]):
            if row.options["sidecars"]:
                add_sidecars(source, count)
            runs: list[Run] = []
            for index, contender in interleaved(row.contenders, row.rounds):
                workspace = f"{row.key}-{contender}-{index}"
                data = bench.child("upload", contender, workspace, "--source", str(source))
                runs.append(_run_of(contender, data))
                bench.reset()
            report(row, runs)
        shutil.rmtree(source)


def run_blocking_row(bench: Bench, row: Row, report: Callable[[Row, list[Run]], None]) -> None:
    source = bench.workdir / "files-blocking"
    make_files(source, row.options["count"], bench.size)
    runs: list[Run] = []
    for index, contender in interleaved(row.contenders, row.rounds):
        workspace = f"{row.key}-{contender}-{index}"
        data = bench.child("upload", contender, workspace, "--source", str(source))
        after = data["returned_at"] - last_ingested_at(bench.api_url, workspace)
        runs.append(_run_of(contender, data, after_ingestion_s=after))
        bench.reset()
    report(row, runs)
    shutil.rmtree(source)


def run_big_file_row(bench: Bench, row: Row, report: Callable[[Row, list[Run]], None]) -> None:
    source = bench.workdir / "big"
    make_big_file(source, row.options["bytes"])
    runs: list[Run] = []
    failed: dict[str, str] = {}
    for index, contender in interleaved(row.contenders, row.rounds):
        if contender in failed:
            continue
        try:
            data = bench.child("upload", contender, f"{row.key}-{contender}-{index}", "--source", str(source))
        except RuntimeError as exc:  # the official SDK posts a lone file directly, limited to 200 MB
            failed[contender] = str(exc).strip().splitlines()[-1][:300]
            bench.reset()
            continue
        # Report MiB/s: one item is one MiB.
        data["items"] = row.options["bytes"] >> 20
        runs.append(_run_of(contender, data))
        bench.reset()
    report(row, runs)
    for contender, reason in failed.items():
        print(f"  {contender:18}FAILED: {reason}")
    shutil.rmtree(source)


def run_texts_row(bench: Bench, row: Row, report: Callable[[Row, list[Run]], None]) -> None:
    runs: list[Run] = []
    for index, contender in interleaved(row.contenders, row.rounds):
        data = bench.child(
            "texts", contender, f"{row.key}-{contender}-{index}", "--count", str(row.options["count"])
        )
        runs.append(_run_of(contender, data))
        bench.reset()
    report(row, runs)


def populate(bench: Bench, workspace: str, count: int, sidecars: bool) -> str:
    """Upload `count` files into `workspace` and wait for their ingestion; return the session id."""
    from deepset_cloud.sync_client import files

    source = bench.workdir / f"populate-{workspace}"
    make_files(source, count, bench.size)
    if sidecars:
        add_sidecars(source, count)
    result = files.upload(
        paths=[source], api_key=API_KEY, api_url=bench.api_url, workspace_name=workspace, show_progress=False
    )
    shutil.rmtree(source)
    if result.failed_upload_count or result.successful_upload_count < count:
        raise RuntimeError(f"populating {workspace} failed: {result.failed[:1]}")
    return str(result.session_ids[0])


def run_read_rows(bench: Bench, rows: Sequence[Row], report: Callable[[Row, list[Run]], None]) -> None:
    """list_files, download and the call latency, against workspaces filled once."""
    filled: dict[str, str] = {}
    for row in rows:
        workspace = row.options["workspace"]
        if workspace not in filled:
            filled[workspace] = populate(bench, workspace, row.options["files"], row.options["sidecars"])
    for row in rows:
        workspace = row.options["workspace"]
        runs: list[Run] = []
        for _index, contender in interleaved(row.contenders, row.rounds):
            extra: list[str] = []
            dest = bench.workdir / "download"
            if row.task == "list":
                extra = ["--batch", str(row.options["batch"])]
            elif row.task == "download":
                shutil.rmtree(dest, ignore_errors=True)
                dest.mkdir()
                extra = ["--dest", str(dest)]
            elif row.task == "call":
                extra = ["--session-id", filled[workspace], "--count", str(row.options["calls"])]
            data = bench.child(row.task, contender, workspace, *extra)
            if row.task == "call":
                data["items"] = 1
            runs.append(_run_of(contender, data))
            shutil.rmtree(dest, ignore_errors=True)
        report(row, runs)
    bench.reset()


_IMPORT_SNIPPETS = {
    "sync": "import deepset_cloud.sync_client",
    "official": "import deepset_cloud_sdk.workflows.sync_client.files",
    "cli --help": (
        "import contextlib, io, deepset_cloud.cli as c\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    c.main(['--help'])"
    ),
}
_IMPORT_PROBE = """
import sys, time
started = time.perf_counter()
exec(compile(sys.argv[1], "<bench>", "exec"))
wall = time.perf_counter() - started
print(wall, int("aiohttp" in sys.modules), int("importlib.metadata" in sys.modules))
"""


def run_import_row(bench: Bench, row: Row, report: Callable[[Row, list[Run]], None]) -> None:
    runs: list[Run] = []
    notes: dict[str, str] = {}
    for _index, contender in interleaved(row.contenders, row.rounds):
        cores = bench.client_cores
        output = subprocess.run(
            [sys.executable, "-c", _IMPORT_PROBE, _IMPORT_SNIPPETS[contender]],
            cwd=bench.home,
            env=_child_env(bench.home),
            capture_output=True,
            text=True,
            check=True,
            preexec_fn=lambda cores=cores: os.sched_setaffinity(0, cores),  # type: ignore[misc]
        ).stdout.split()
        wall, aiohttp_loaded, metadata_loaded = float(output[0]), output[1] == "1", output[2] == "1"
        notes[contender] = (
            f"aiohttp {'imported' if aiohttp_loaded else 'not imported'}, importlib.metadata {'imported' if metadata_loaded else 'not imported'}"
        )
        runs.append(Run(contender, 1, wall, 0.0, 0.0, 0))
    report(row, runs)
    for contender, note in notes.items():
        print(f"    {contender}: {note}")


# -- the report -----------------------------------------------------------------------------------------------


def _spread(values: Sequence[float], fmt: str) -> str:
    median = statistics.median(values)
    if len(values) == 1:
        return format(median, fmt)
    return f"{format(median, fmt)} ({format(min(values), fmt)}-{format(max(values), fmt)})"


def row_lines(row: Row, runs: Sequence[Run]) -> list[str]:
    """The per-contender lines of one row, then the ratios (median of the per-round ratios, min-max)."""
    lines = [f"{row.label}  [{row.rounds} round(s)]"]
    by_contender: dict[str, list[Run]] = {}
    for run in runs:
        by_contender.setdefault(run.contender, []).append(run)
    for contender, mine in by_contender.items():
        parts = [f"  {contender:18}"]
        if row.task == "call":
            parts.append(
                f"first call {_spread([r.first_call_s * 1e3 for r in mine if r.first_call_s], '.1f')} ms"
            )
            parts.append(
                f"then median {_spread([r.median_call_s * 1e6 for r in mine if r.median_call_s], '.0f')} us/call"
            )
        elif row.task == "import":
            parts.append(f"{_spread([r.wall_s * 1e3 for r in mine], '.0f')} ms")
        else:
            parts.append(f"{_spread([r.rate for r in mine], ',.0f')} {row.unit}")
            per_item = "MiB" if row.key.startswith("big") else "item"
            parts.append(f"CPU {_spread([r.cpu_s / r.items * 1e3 for r in mine], '.3f')} ms/{per_item}")
            client_share = statistics.median(r.cpu_s / r.wall_s for r in mine)
            server_share = statistics.median(r.server_cpu_s / r.wall_s for r in mine)
            parts.append(f"client {client_share:4.0%} server {server_share:4.0%}")
            if row.task == "upload" and not row.key.startswith("big"):
                objects = [r.items * row.objects_per_item for r in mine]
                per_post = statistics.median(
                    r.server_cpu_s / n * 1e6 for r, n in zip(mine, objects, strict=True)
                )
                parts.append(f"emulator {per_post:.0f} us/post")
            firsts = [r.first_post_s * 1e3 for r in mine if r.first_post_s is not None]
            if firsts and row.task == "upload":
                parts.append(f"1st post {_spread(firsts, '.0f')} ms")
            parts.append(f"RSS {_spread([r.peak_rss_kib / 1024 for r in mine], '.0f')} MiB")
            afters = [r.after_ingestion_s * 1e3 for r in mine if r.after_ingestion_s is not None]
            if afters:
                parts.append(f"returns {_spread(afters, '.0f')} ms after the last ingestion")
            if server_share >= SERVER_LIMITED_SHARE:
                parts.append("SERVER-LIMITED")
        lines.append("  ".join(parts))
    lines += _ratio_lines(row, by_contender)
    return lines


def _metric(row: Row) -> tuple[str, Callable[[Run], float], bool]:
    """(name, value, higher is better) of the row's headline number."""
    if row.task == "call":
        return "first call", lambda r: r.first_call_s or 0.0, False
    if row.task == "import":
        return "import time", lambda r: r.wall_s, False
    return row.unit, lambda r: r.rate, True


def _ratio_lines(row: Row, by_contender: dict[str, list[Run]]) -> list[str]:
    pairs = [
        ("sync", "official"),
        ("async", "official"),
        ("sync", "bare"),
        ("async", "bare"),
        ("sync", "async"),
        ("blocking", "official-blocking"),
    ]
    if not any(mine in by_contender and theirs in by_contender for mine, theirs in pairs):
        first, *others = by_contender  # custom contenders: each against the first
        pairs = [(other, first) for other in others]
    # A/B of source trees: `async` against `async:main`.
    pairs += [(name.partition(":")[0], name) for name in by_contender if ":" in name]
    name, value, _higher = _metric(row)
    lines = []
    for mine, theirs in pairs:
        if mine not in by_contender or theirs not in by_contender:
            continue
        ratios = [value(a) / value(b) for a, b in zip(by_contender[mine], by_contender[theirs], strict=True)]
        text = f"  {mine}/{theirs}: {name} x{_spread(ratios, '.2f')}"
        if row.task in ("upload", "texts", "list", "download"):
            cpu = [
                (a.cpu_s / a.items) / (b.cpu_s / b.items)
                for a, b in zip(by_contender[mine], by_contender[theirs], strict=True)
            ]
            text += f", CPU/item x{_spread(cpu, '.2f')}"
        if row.task == "call":
            steady = [
                (a.median_call_s or 0.0) / (b.median_call_s or 1.0)
                for a, b in zip(by_contender[mine], by_contender[theirs], strict=True)
            ]
            text += f", median call x{_spread(steady, '.2f')}"
        lines.append(text)
    return lines


# -- entry point ---------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.bench_matrix", description=__doc__.splitlines()[0]
    )
    add = parser.add_argument
    add("--quick", action="store_true", help="smaller rows and 2 rounds (a few minutes)")
    add("--rounds", type=int, help="interleaved rounds per row (default 3; 2 with --quick)")
    add("--rows", help="comma-separated row keys or prefixes (default: all); see --list")
    add("--list", action="store_true", help="print the row keys and exit")
    add(
        "--contenders",
        help="replace every row's contenders, e.g. `async@10,async@32,bare` (`@N`: posts in flight)",
    )
    add(
        "--src",
        action="append",
        default=[],
        metavar="LABEL=PATH",
        help="a source tree for contenders named `CONTENDER:LABEL` (A/B of two trees in one run, e.g. "
        "`--src main=/work/main/src --contenders async,async:main`)",
    )
    add("--size", type=int, default=1024, help="bytes per file (default %(default)s)")
    add(
        "--official-everywhere", action="store_true", help="run the official SDK in the 100,000-file rows too"
    )
    add("--tmp-dir", type=Path, default=Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else None)
    add("--keep", action="store_true", help="keep the temp folder (child logs) and print its path")
    return parser


def all_rows(args: argparse.Namespace) -> list[Row]:
    quick = args.quick
    rounds = args.rounds
    rows = upload_rows(args)
    rows.append(
        Row(
            "blocking",
            f"upload {500 if quick else 2000:,} files, blocking=True",
            "upload",
            ("blocking", "official-blocking"),
            "files/s",
            rounds,
            {"count": 500 if quick else 2000},
        )
    )
    big = (256 if quick else 1024) << 20
    rows.append(
        Row(
            "big",
            f"upload one {big >> 20:,} MiB file",
            "upload",
            ("sync", "async", "official"),
            "MiB/s",
            rounds,
            {"bytes": big},
        )
    )
    texts = 2000 if quick else 10_000
    rows.append(
        Row(
            "texts",
            f"upload_texts {texts:,} texts",
            "texts",
            ("sync", "async", "official"),
            "texts/s",
            rounds,
            {"count": texts},
        )
    )
    listed = 5000 if quick else 20_000
    for batch in (100, 1000):
        rows.append(
            Row(
                f"list-{batch}",
                f"list_files {listed:,} files, batch {batch}",
                "list",
                ("sync", "async", "official"),
                "files/s",
                rounds,
                {"workspace": "listing", "files": listed, "sidecars": False, "batch": batch},
            )
        )
    downloads = 500 if quick else 2000
    rows.append(
        Row(
            "download",
            f"download {downloads:,} files with meta",
            "download",
            ("sync", "async", "official"),
            "files/s",
            rounds,
            {"workspace": "downloads", "files": downloads, "sidecars": True},
        )
    )
    rows.append(
        Row(
            "call",
            "get_upload_session, fresh process (first call includes the connection)",
            "call",
            ("sync", "async", "official"),
            "calls",
            rounds,
            {"workspace": "downloads", "files": downloads, "sidecars": True, "calls": 200},
        )
    )
    rows.append(
        Row(
            "import",
            "import time (fresh process)",
            "import",
            ("sync", "official", "cli --help"),
            "ms",
            max(rounds, 5),
        )
    )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # A SIGTERM (e.g. from `timeout`) unwinds like Ctrl-C: the emulator and the temp folder are cleaned up.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if args.rounds is None:
        args.rounds = 2 if args.quick else 3
    args.sizes = (2000,) if args.quick else (2000, 10_000, 100_000)
    rows = all_rows(args)
    if args.list:
        print("\n".join(f"{row.key:14} {row.label}" for row in rows))
        return 0
    if args.contenders:
        chosen = tuple(name.strip() for name in args.contenders.split(","))
        rows = [attrs.evolve(row, contenders=chosen) for row in rows if row.task not in ("import",)]
    if args.rows:
        wanted = [name.strip() for name in args.rows.split(",")]
        rows = [row for row in rows if any(row.key == w or row.key.startswith(w) for w in wanted)]
    server_cores, client_cores = _cores()
    os.sched_setaffinity(0, server_cores)  # the parent waits on the server's core, away from the client
    workdir = Path(tempfile.mkdtemp(prefix="bench-matrix-", dir=args.tmp_dir))
    started = time.monotonic()
    print(
        f"# deepset-cloud benchmark matrix, {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}\n"
        f"# {platform.node()}: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}; Python {platform.python_version()}\n"
        f"# server on CPU {sorted(server_cores)}, clients on CPU {sorted(client_cores)}; {args.size} B files\n"
        f"# python -m benchmarks.bench_matrix {' '.join(argv if argv is not None else sys.argv[1:])}",
        flush=True,
    )

    def report(row: Row, runs: list[Run]) -> None:
        print("\n".join(row_lines(row, runs)), flush=True)

    command = emulator_command(
        workdir / "emulator-data",
        API_KEY,
        "--admin-token",
        ADMIN_TOKEN,
        "--ingest-delay-s",
        "0.05",
        "--max-open-sessions",
        "1000",
        "--max-files-per-session",  # the bare client posts a whole row into one session
        "1000000",
    )
    try:
        with server_process(command, workdir / "emulator.log", cpus=server_cores) as server:
            sources = dict(spec.split("=", 1) for spec in args.src)
            bench = Bench(workdir, server.url, server.pid, client_cores, args.size, sources)
            uploads = [row for row in rows if row.task == "upload" and row.key.startswith("upload-")]
            run_upload_rows(bench, uploads, report)
            for row in rows:
                if row.key == "blocking":
                    run_blocking_row(bench, row, report)
                elif row.key == "big":
                    run_big_file_row(bench, row, report)
                elif row.task == "texts":
                    run_texts_row(bench, row, report)
            run_read_rows(bench, [row for row in rows if row.task in ("list", "download", "call")], report)
            for row in rows:
                if row.task == "import":
                    run_import_row(bench, row, report)
    except (RuntimeError, subprocess.CalledProcessError) as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        if args.keep:
            print(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"# matrix done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
