"""One contender of `bench_upload`, run in a fresh process: `python -m benchmarks._upload_contenders NAME ...`.

Times one upload of a folder (wall clock and the process's user+sys CPU around the call; imports happen
before the clock starts) and writes files, objects, wall_s, cpu_s and peak_rss_kib (ru_maxrss) as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import sys
import time
from collections.abc import Sequence
from pathlib import Path

API_KEY = "bench-upload-key"
CONTENDERS = ("ours", "bare", "official", "ours-blocking")


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _upload_ours(args: argparse.Namespace, *, blocking: bool) -> int:
    from deepset_cloud.async_client import files
    from deepset_cloud.async_client.client_cache import aclose_cached_clients

    report = await files.upload(
        paths=[Path(args.source)],
        api_key=API_KEY,
        api_url=args.api_url,
        workspace_name=args.workspace,
        blocking=blocking,
        show_progress=False,
    )
    await aclose_cached_clients()
    if report.failed_upload_count or not report.successful_upload_count:
        raise RuntimeError(f"ours: {report.failed_upload_count} failed, first: {report.failed[:1]}")
    return report.successful_upload_count


async def _upload_official(args: argparse.Namespace) -> int:
    from deepset_cloud_sdk.workflows.async_client import files

    summary = await files.upload(
        paths=[Path(args.source)],
        api_key=API_KEY,
        api_url=args.api_url,
        workspace_name=args.workspace,
        blocking=False,
        show_progress=False,
    )
    if summary.failed_upload_count or not summary.successful_upload_count:
        raise RuntimeError(f"official: {summary.failed_upload_count} failed, first: {summary.failed[:1]}")
    return int(summary.successful_upload_count)


async def _upload_bare(args: argparse.Namespace) -> int:
    """The least a client must do: one session, one prebuilt multipart body per object, N workers."""
    import aiohttp

    names = sorted(os.listdir(args.source))
    paths = [os.path.join(args.source, name) for name in names]
    async with aiohttp.ClientSession() as http:
        base = f"{args.api_url}/workspaces/{args.workspace}/upload_sessions"
        auth = {"Authorization": f"Bearer {API_KEY}"}
        async with http.post(
            base, json={"write_mode": "KEEP", "parallel_processing_enabled": False}, headers=auth
        ) as response:
            response.raise_for_status()
            session = await response.json()
        url = session["aws_prefixed_request_config"]["url"]
        fields = session["aws_prefixed_request_config"]["fields"]
        boundary = os.urandom(16).hex()
        head = "".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'
            for key, value in fields.items()
        ).encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        failures: list[str] = []
        next_index = iter(range(len(paths)))

        async def worker() -> None:
            for index in next_index:
                with open(paths[index], "rb") as file:
                    content = file.read()
                part = (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{names[index]}"\r\nContent-Type: text/plain\r\n\r\n'
                ).encode()
                async with http.post(url, data=head + part + content + tail, headers=headers) as reply:
                    if reply.status != 204:
                        failures.append(f"{names[index]}: {reply.status} {(await reply.read())[:200]!r}")

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        async with http.put(f"{base}/{session['session_id']}", json={"status": "CLOSED"}, headers=auth) as r:
            r.raise_for_status()
    if failures:
        raise RuntimeError(f"bare: {len(failures)} posts failed, first: {failures[0]}")
    return len(paths)


async def _run_child_upload(args: argparse.Namespace) -> int:
    """Run the contender's upload; return the objects it stored."""
    if args.contender == "bare":
        return await _upload_bare(args)
    if args.contender == "official":
        return await _upload_official(args)
    return await _upload_ours(args, blocking=args.contender == "ours-blocking")


def run_child(args: argparse.Namespace) -> int:
    """Child process: time one upload (wall and CPU) and write the result file."""
    # Import what the contender needs before the clock starts: imports are process cost, not upload cost.
    if args.contender == "official":
        import deepset_cloud_sdk.workflows.async_client.files  # noqa: F401
    elif args.contender != "bare":
        import deepset_cloud.async_client.files  # noqa: F401
    import aiohttp  # noqa: F401

    files = sum(1 for name in os.listdir(args.source) if not name.endswith(".meta.json"))
    profile = None
    if args.cprofile_out:
        import cProfile

        profile = cProfile.Profile(time.process_time)
    cpu_before, wall_before = _cpu_s(), time.perf_counter()
    if profile is not None:
        profile.enable()
    loop = asyncio.new_event_loop()  # a process of its own: no portal needed
    try:
        objects = loop.run_until_complete(_run_child_upload(args))
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()
    if profile is not None:
        profile.disable()
        profile.dump_stats(args.cprofile_out)
    wall, cpu = time.perf_counter() - wall_before, _cpu_s() - cpu_before
    peak_rss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = {"files": files, "objects": objects, "wall_s": wall, "cpu_s": cpu, "peak_rss_kib": peak_rss_kib}
    Path(args.result).write_text(json.dumps(result))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run one contender (arguments from `bench_upload.run_contender`)."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks._upload_contenders")
    parser.add_argument("contender", choices=CONTENDERS)
    for option in ("--api-url", "--workspace", "--source", "--result"):
        parser.add_argument(option, required=True)
    parser.add_argument("--concurrency", type=int, required=True)
    parser.add_argument("--cprofile-out", help="cProfile (CPU clock) the upload into this file")
    return run_child(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
