"""Throughput of the emulator's S3 presigned-POST endpoint under a bare aiohttp client.

Default mode starts the real emulator (`python -m deepset_cloud.emulator`, temp data dir, persistence on),
creates an upload session per run through the API and posts `--posts` small files (1 KiB by default)
with prebuilt multipart bodies (the session's fields, then the `file` part last, as the SDK sends them)
at `--concurrency` over `--connections` keep-alive connections. It prints posts/s (median of `--runs`)
and the server's CPU time per post (from psutil).

`--minimal-server` instead starts a minimal aiohttp.web server (this module with `--serve-minimal`)
once per body handler and posts the same kind of bodies to each, to show what the body parsing costs:
`read` only reads the body into memory (the ceiling), `aiohttp` parses it with aiohttp's
`MultipartReader`, `ours` uses `deepset_cloud.emulator.s3.multipart`; both keep the small file in memory.

    python -m benchmarks.emulator_s3_posts                      # the emulator, 3 x 20,000 posts
    python -m benchmarks.emulator_s3_posts --minimal-server     # read vs aiohttp vs ours
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import attrs
import psutil
from aiohttp import web

from benchmarks._emulator_process import emulator_command, server_process

API_KEY = "bench-api-key"
WORKSPACE = "bench"
MINIMAL_HANDLERS = ("read", "aiohttp", "ours")
# Fields like a presigned POST's, for the minimal server (the emulator hands out its own).
_FAKE_FIELDS = {
    "key": "bench/00000000-0000-0000-0000-000000000000/${filename}",
    "x-amz-algorithm": "AWS4-HMAC-SHA256",
    "x-amz-credential": "EMULATOR/20300101/us-east-1/s3/aws4_request",
    "x-amz-date": "20300101T000000Z",
    "policy": "eyJ" + "A" * 600,
    "x-amz-signature": "0" * 64,
}


@attrs.frozen
class RunResult:
    """One timed run of posts."""

    posts: int
    wall_s: float
    server_cpu_s: float
    client_cpu_s: float

    @property
    def posts_per_s(self) -> float:
        return self.posts / self.wall_s

    @property
    def server_us_per_post(self) -> float:
        return self.server_cpu_s / self.posts * 1e6

    @property
    def client_us_per_post(self) -> float:
        return self.client_cpu_s / self.posts * 1e6

    def line(self) -> str:
        return (
            f"{self.posts_per_s:8.0f} posts/s  server CPU {self.server_us_per_post:6.0f} us/post  "
            f"client CPU {self.client_us_per_post:6.0f} us/post  ({self.posts} posts in {self.wall_s:.2f} s)"
        )


def build_bodies(
    fields: Mapping[str, str], names: Sequence[str], size: int, boundary: str
) -> tuple[str, list[bytes]]:
    """Multipart bodies laid out like aiohttp's FormData (fields in order, then `file` last, text/plain)."""
    head = b"".join(
        f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f'Content-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    )
    content = (b"0123456789abcdef" * (size // 16 + 1))[:size]
    tail = f"\r\n--{boundary}--\r\n".encode()
    bodies = [
        head
        + f'--{boundary}\r\nContent-Type: text/plain\r\nContent-Disposition: form-data; name="file"; '
        f'filename="{name}"\r\n\r\n'.encode()
        + content
        + tail
        for name in names
    ]
    return f"multipart/form-data; boundary={boundary}", bodies


async def post_all(
    url: str, bodies: Sequence[bytes], content_type: str, *, concurrency: int, connections: int
) -> tuple[float, list[str]]:
    """POST every body; return the wall time and a description of each failed post."""
    failures: list[str] = []
    next_index = itertools.count()
    headers = {"Content-Type": content_type}
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as http:

        async def worker() -> None:
            while (i := next(next_index)) < len(bodies):
                async with http.post(url, data=bodies[i], headers=headers) as response:
                    reply = await response.read()
                    if response.status != 204:
                        failures.append(f"{response.status}: {reply[:300]!r}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, failures


async def timed_run(
    server: psutil.Process, url: str, bodies: Sequence[bytes], content_type: str, args: argparse.Namespace
) -> RunResult:
    server_before = server.cpu_times()
    client_before = time.process_time()
    wall, failures = await post_all(
        url, bodies, content_type, concurrency=args.concurrency, connections=args.connections
    )
    client_cpu = time.process_time() - client_before
    server_after = server.cpu_times()
    if failures:
        raise RuntimeError(f"{len(failures)} of {len(bodies)} posts failed, first: {failures[0]}")
    server_cpu = (server_after.user - server_before.user) + (server_after.system - server_before.system)
    return RunResult(len(bodies), wall, server_cpu, client_cpu)


async def create_session(api_url: str) -> dict[str, Any]:
    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {API_KEY}"}) as http,
        http.post(
            f"{api_url}/workspaces/{WORKSPACE}/upload_sessions",
            json={"write_mode": "KEEP", "parallel_processing_enabled": False},
        ) as response,
    ):
        if response.status != 201:
            raise RuntimeError(f"creating a session failed: {response.status} {await response.text()}")
        session: dict[str, Any] = await response.json()
        return session


async def bench_emulator(args: argparse.Namespace, workdir: Path) -> list[RunResult]:
    launcher = (
        ["-c", _CPROFILE_LAUNCHER, str(args.cprofile)] if args.cprofile else ["-m", "deepset_cloud.emulator"]
    )
    command = emulator_command(
        workdir / "data",
        API_KEY,
        "--max-files-per-session",
        str(max(args.posts, args.warmup)),
        "--max-open-sessions",
        str(args.runs + 1),  # one session per run plus the warm-up
        launcher=launcher,
    )
    results = []
    with server_process(command, workdir / "emulator.log") as started:
        server, api_url = psutil.Process(started.pid), started.url
        profiler: subprocess.Popen[bytes] | None = None
        for run in range(-1, args.runs):  # run -1 warms the server up and is not counted
            if run == 0 and args.profile:
                profiler = start_profiler(server.pid, args.profile)
            session = await create_session(api_url)
            config = session["aws_prefixed_request_config"]
            count = args.warmup if run < 0 else args.posts
            names = [f"file-{run + 1}-{i:06d}.txt" for i in range(count)]
            content_type, bodies = build_bodies(config["fields"], names, args.size, secrets.token_hex(16))
            result = await timed_run(server, config["url"], bodies, content_type, args)
            if run >= 0:
                print(f"  run {run + 1}: {result.line()}", flush=True)
                results.append(result)
        if profiler is not None:
            stop_profiler(profiler)
    return results


# Runs the emulator's CLI under cProfile with a CPU-time clock (time blocked in syscalls is not counted).
_CPROFILE_LAUNCHER = """
import cProfile, sys, time
from deepset_cloud.emulator.cli import main
output, argv = sys.argv[1], sys.argv[2:]
profile = cProfile.Profile(time.process_time)
profile.enable()
try:
    main(argv)
finally:
    profile.disable()
    profile.dump_stats(output)
"""


def start_profiler(pid: int, output: Path) -> subprocess.Popen[bytes]:
    """Sample `pid` with py-spy (`pip install py-spy`) until `stop_profiler`."""
    py_spy = Path(sys.executable).with_name("py-spy")
    command = [str(py_spy), "record", "--pid", str(pid), "--format", "raw", "--rate", "250"]
    return subprocess.Popen([*command, "--output", str(output)], stdout=subprocess.DEVNULL)


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
    profiler.wait(timeout=30)


async def bench_minimal(args: argparse.Namespace, workdir: Path, handler: str) -> list[RunResult]:
    spool = workdir / f"spool-{handler}"
    spool.mkdir()
    command = [sys.executable, "-m", "benchmarks.emulator_s3_posts", "--serve-minimal", handler, str(spool)]
    results = []
    with server_process(command, workdir / f"minimal-{handler}.log") as started:
        server, url = psutil.Process(started.pid), started.url
        names = [f"file-{i:06d}.txt" for i in range(args.posts)]
        content_type, bodies = build_bodies(_FAKE_FIELDS, names, args.size, secrets.token_hex(16))
        await timed_run(server, url, bodies[: args.warmup], content_type, args)
        for run in range(args.runs):
            result = await timed_run(server, url, bodies, content_type, args)
            print(f"  {handler:8} run {run + 1}: {result.line()}", flush=True)
            results.append(result)
    return results


def summarize(label: str, results: Sequence[RunResult]) -> str:
    return (
        f"{label}: median {statistics.median(r.posts_per_s for r in results):.0f} posts/s, "
        f"server CPU {statistics.median(r.server_us_per_post for r in results):.0f} us/post, "
        f"client CPU {statistics.median(r.client_us_per_post for r in results):.0f} us/post"
    )


# -- the minimal server (child process) -----------------------------------------------------------------


def serve_minimal(handler_name: str, spool: Path) -> int:
    """Serve POST / with one body handler on 127.0.0.1:0; print the URL; run until SIGTERM."""
    from deepset_cloud.emulator.s3.multipart import parse_multipart

    async def read_only(request: web.Request) -> web.Response:
        await request.read()
        return web.Response(status=204)

    async def with_aiohttp(request: web.Request) -> web.Response:
        reader = await request.multipart()
        fields, files = {}, {}
        while (part := await reader.next()) is not None:
            assert isinstance(part, aiohttp.BodyPartReader)
            if part.filename is None:
                fields[part.name] = await part.text()
            else:
                files[part.name] = await part.read()
        return web.Response(status=204)

    async def with_ours(request: web.Request) -> web.Response:
        form = await parse_multipart(
            request.content,
            request.headers["Content-Type"],
            spool_dir=spool,
            max_file_bytes=1 << 30,
            memory_file_bytes=64 * 1024,  # as the emulator does: small files stay in memory
            content_length=request.content_length,  # as the emulator does: small bodies are read whole
        )
        for part in form.files:
            if part.path is not None:
                os.unlink(part.path)
        return web.Response(status=204)

    handlers = {"read": read_only, "aiohttp": with_aiohttp, "ours": with_ours}

    async def serve() -> None:
        app = web.Application()
        app.router.add_post("/", handlers[handler_name])
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"http://127.0.0.1:{runner.addresses[0][1]}/", flush=True)
        try:
            await asyncio.Event().wait()  # until SIGTERM ends the process
        finally:
            await runner.cleanup()

    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(serve())
    finally:
        loop.close()
    return 0


# -- entry point ------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.emulator_s3_posts", description=__doc__.splitlines()[0]
    )
    add = parser.add_argument
    add("--posts", type=int, help="posts per run (default 20000; 3000 with --minimal-server)")
    add("--runs", type=int, default=3, help="timed runs; the median is reported (default %(default)s)")
    add("--warmup", type=int, default=500, help="untimed posts before the runs (default %(default)s)")
    add("--size", type=int, default=1024, help="file size in bytes (default %(default)s)")
    add("--concurrency", type=int, default=32, help="concurrent posts (default %(default)s)")
    add("--connections", type=int, default=8, help="keep-alive connections (default %(default)s)")
    add(
        "--tmp-dir",
        type=Path,
        help="where the temporary data/spool folders go (default: the system temp dir)",
    )
    add(
        "--profile",
        type=Path,
        metavar="FILE",
        help="record the server with py-spy during the timed runs (FILE.txt: collapsed stacks)",
    )
    add("--cprofile", type=Path, metavar="FILE", help="run the emulator under cProfile (CPU clock) into FILE")
    add("--minimal-server", action="store_true", help="compare body handlers on a minimal aiohttp server")
    add(
        "--handlers",
        default=",".join(MINIMAL_HANDLERS),
        help="with --minimal-server: handlers to compare (default %(default)s)",
    )
    add("--serve-minimal", nargs=2, metavar=("HANDLER", "SPOOL_DIR"), help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark; return 0, or 1 if posts failed."""
    args = build_parser().parse_args(argv)
    if args.serve_minimal:
        return serve_minimal(args.serve_minimal[0], Path(args.serve_minimal[1]))
    if args.posts is None:
        args.posts = 3000 if args.minimal_server else 20_000
    loop = asyncio.new_event_loop()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-s3-", dir=args.tmp_dir) as folder:
            workdir = Path(folder)
            print(
                f"{args.posts} posts x {args.runs} runs, {args.size} B files, concurrency {args.concurrency} "
                f"over {args.connections} connections, {psutil.cpu_count()} CPUs",
                flush=True,
            )
            if args.minimal_server:
                summaries = []
                for handler in args.handlers.split(","):
                    results = loop.run_until_complete(bench_minimal(args, workdir, handler))
                    summaries.append(summarize(f"minimal server, {handler}", results))
                print("\n".join(summaries))
            else:
                results = loop.run_until_complete(bench_emulator(args, workdir))
                print(summarize("emulator S3 posts", results))
    except RuntimeError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    finally:
        loop.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
