"""One run of one contender of the benchmark matrix, in a fresh process (`bench_matrix` starts it).

    python -m benchmarks._matrix_child TASK CONTENDER --api-url URL --workspace WS --result FILE ...

Imports happen before the clock starts (the `import` task measures them on their own). Around the call
the child records its wall time, its own CPU time (user+sys) and the server's (from /proc, pid given by
`--server-pid`), the moment of its first storage post (every contender's aiohttp session is watched the
same way) and afterwards its peak RSS; it writes them as JSON to `--result`.

Contenders: `sync` and `async` are this SDK (`deepset_cloud.sync_client.files` / `async_client.files`),
`official` is deepset-cloud-sdk's async client (its sync client for the `call` task: that is what a
script calls), `bare` is plain aiohttp with prebuilt multipart bodies (the ceiling), `blocking` is this
SDK's sync upload with `blocking=True`, `official-blocking` the official's.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import os
import resource
import statistics
import sys
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any
from uuid import UUID

API_KEY = "bench-matrix-key"
TASKS = ("upload", "texts", "list", "download", "call")
_CLOCK_TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
_FIRST_POST: list[float] = []


def process_cpu_s(pid: int) -> float:
    """User+sys CPU seconds of process `pid` (all threads), from /proc (10 ms resolution)."""
    if pid <= 0:
        return 0.0
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * _CLOCK_TICK_S


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _watch_first_storage_post() -> None:
    """Record when the first POST to a non-API URL (the storage endpoint) is started, for every contender."""
    import aiohttp

    original = aiohttp.ClientSession._request

    async def _request(self: aiohttp.ClientSession, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        if not _FIRST_POST and method == "POST" and "/api/v1/" not in str(url):
            _FIRST_POST.append(time.perf_counter())
        return await original(self, method, url, *args, **kwargs)

    aiohttp.ClientSession._request = _request  # type: ignore[method-assign,assignment]


def _module(contender: str, task: str) -> Any:
    if contender in ("sync", "blocking"):
        return importlib.import_module("deepset_cloud.sync_client.files")
    if contender == "async":
        return importlib.import_module("deepset_cloud.async_client.files")
    if contender == "official" and task == "call":
        return importlib.import_module("deepset_cloud_sdk.workflows.sync_client.files")
    if contender in ("official", "official-blocking"):
        return importlib.import_module("deepset_cloud_sdk.workflows.async_client.files")
    raise SystemExit(f"no module for {contender} {task}")


def _is_async(contender: str, task: str) -> bool:
    return contender in ("async", "bare") or (
        contender in ("official", "official-blocking") and task != "call"
    )


def _credentials(args: argparse.Namespace) -> dict[str, str]:
    return {"api_key": API_KEY, "api_url": args.api_url, "workspace_name": args.workspace}


# -- the calls ---------------------------------------------------------------------------------------------


def _check_upload(contender: str, report: Any) -> int:
    failed = int(report.failed_upload_count)
    if failed or not report.successful_upload_count:
        raise RuntimeError(f"{contender}: {failed} failed, first: {list(report.failed)[:1]}")
    return int(report.successful_upload_count)


def upload_call(args: argparse.Namespace, module: Any) -> Callable[[], Any]:
    blocking = args.contender in ("blocking", "official-blocking")
    kwargs: dict[str, Any] = {
        "paths": [Path(args.source)],
        **_credentials(args),
        "blocking": blocking,
        "show_progress": False,
    }
    if args.contender == "bare":
        return lambda: upload_bare(args)
    if _is_async(args.contender, "upload"):

        async def run_async() -> int:
            return _check_upload(args.contender, await module.upload(**kwargs))

        return run_async
    return lambda: _check_upload(args.contender, module.upload(**kwargs))


async def upload_bare(args: argparse.Namespace) -> int:
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
    return sum(1 for name in names if not name.endswith(".meta.json"))


def texts_call(args: argparse.Namespace, module: Any) -> Callable[[], Any]:
    if args.contender.startswith("official"):
        from deepset_cloud_sdk.models import DeepsetCloudFile as OfficialFile

        documents: list[Any] = [
            OfficialFile(text=f"text number {i} " * 8, name=f"text-{i:06d}.txt", meta={"i": i})
            for i in range(args.count)
        ]
    else:
        from deepset_cloud import DeepsetCloudFile

        documents = [
            DeepsetCloudFile(text=f"text number {i} " * 8, name=f"text-{i:06d}.txt", meta={"i": i})
            for i in range(args.count)
        ]
    kwargs = {"files": documents, **_credentials(args), "blocking": False, "show_progress": False}
    if _is_async(args.contender, "texts"):

        async def run_async() -> int:
            return _check_upload(args.contender, await module.upload_texts(**kwargs))

        return run_async
    return lambda: _check_upload(args.contender, module.upload_texts(**kwargs))


def list_call(args: argparse.Namespace, module: Any) -> Callable[[], Any]:
    kwargs = {**_credentials(args), "batch_size": args.batch}
    if _is_async(args.contender, "list"):

        async def run_async() -> int:
            count = 0
            async for page in module.list_files(**kwargs):
                count += len(page)
            return count

        return run_async
    return lambda: sum(len(page) for page in module.list_files(**kwargs))


def download_call(args: argparse.Namespace, module: Any) -> Callable[[], Any]:
    kwargs = {**_credentials(args), "file_dir": Path(args.dest), "show_progress": False}

    def count() -> int:
        return sum(1 for name in os.listdir(args.dest) if not name.endswith(".meta.json"))

    if _is_async(args.contender, "download"):

        async def run_async() -> int:
            await module.download(**kwargs)
            return count()

        return run_async

    def run_sync() -> int:
        module.download(**kwargs)
        return count()

    return run_sync


def call_call(args: argparse.Namespace, module: Any) -> Callable[[], Any]:
    """`args.count` get_upload_session calls; the per-call times go to `_CALL_TIMES` (first one included)."""
    session_id = UUID(args.session_id)
    kwargs = _credentials(args)
    if _is_async(args.contender, "call"):

        async def run_async() -> int:
            for _ in range(args.count):
                started = time.perf_counter()
                await module.get_upload_session(session_id, **kwargs)
                _CALL_TIMES.append(time.perf_counter() - started)
            return int(args.count)

        return run_async

    def run_sync() -> int:
        for _ in range(args.count):
            started = time.perf_counter()
            module.get_upload_session(session_id, **kwargs)
            _CALL_TIMES.append(time.perf_counter() - started)
        return int(args.count)

    return run_sync


_CALL_TIMES: list[float] = []
_CALLS: dict[str, Callable[[argparse.Namespace, Any], Callable[[], Any]]] = {
    "upload": upload_call,
    "texts": texts_call,
    "list": list_call,
    "download": download_call,
    "call": call_call,
}


# -- the child -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Prepare the call, then time it; return the result fields."""
    module = None if args.contender == "bare" else _module(args.contender, args.task)
    import aiohttp  # noqa: F401  (every contender uses it; imported before the clock)

    _watch_first_storage_post()
    call = _CALLS[args.task](args, module)
    loop = asyncio.new_event_loop() if _is_async(args.contender, args.task) else None
    server_before, cpu_before = process_cpu_s(args.server_pid), _self_cpu_s()
    started = time.perf_counter()
    if loop is not None:
        coroutine = call()
        assert isinstance(coroutine, Coroutine)
        items = loop.run_until_complete(coroutine)
    else:
        items = call()
    wall = time.perf_counter() - started
    returned_at = time.time()
    cpu, server_cpu = _self_cpu_s() - cpu_before, process_cpu_s(args.server_pid) - server_before
    if loop is not None:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    result: dict[str, Any] = {
        "items": items,
        "wall_s": wall,
        "cpu_s": cpu,
        "server_cpu_s": server_cpu,
        "returned_at": returned_at,
        "first_post_s": (_FIRST_POST[0] - started) if _FIRST_POST else None,
    }
    if _CALL_TIMES:
        result["first_call_s"] = _CALL_TIMES[0]
        result["median_call_s"] = statistics.median(_CALL_TIMES[1:] or _CALL_TIMES)
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks._matrix_child")
    add = parser.add_argument
    add("task", choices=TASKS)
    add("contender")
    add("--result", required=True)
    add("--api-url", default="")
    add("--workspace", default="")
    add("--server-pid", type=int, default=0)
    add("--source", help="upload: the folder")
    add("--dest", help="download: the folder")
    add("--count", type=int, default=0, help="texts: how many; call: how many calls")
    add("--batch", type=int, default=100, help="list: batch size")
    add("--session-id", help="call: the upload session to ask about")
    add("--concurrency", type=int, default=32, help="bare: posts in flight")
    args = parser.parse_args(argv)
    if "@" in args.contender:  # e.g. `async@32`: this SDK with another default concurrency
        args.contender, concurrency = args.contender.split("@")
        args.concurrency = int(concurrency)
        if args.contender != "bare":
            from deepset_cloud._upload import options

            options.DEFAULT_S3_CONCURRENCY = args.concurrency
    result = run(args)
    result["peak_rss_kib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    Path(args.result).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
