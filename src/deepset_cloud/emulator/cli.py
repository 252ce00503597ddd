"""`python -m deepset_cloud.emulator`: run the emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from deepset_cloud.emulator.config import DEFAULT_ADMIN_TOKEN, DEFAULT_API_KEY, EmulatorConfig
from deepset_cloud.emulator.faults import parse_fault_option
from deepset_cloud.emulator.server import Emulator

__all__ = ["DEFAULT_ADMIN_TOKEN", "DEFAULT_API_KEY", "build_parser", "config_from_args", "main"]

# Config knobs with a plain `--name VALUE` option: (EmulatorConfig field, help). Type and default come
# from EmulatorConfig, so the option and the config cannot disagree.
_KNOB_OPTIONS: tuple[tuple[str, str], ...] = (
    ("ingest_delay_s", "seconds between closing a session and the start of its ingestion"),
    ("session_ttl_s", "seconds an upload session stays open after its creation"),
    (
        "max_open_sessions",
        "open upload sessions allowed per workspace (or account, see --open-session-scope)",
    ),
    ("max_files_per_session", "objects (files and sidecars) one upload session accepts"),
    ("max_direct_upload_bytes", "size limit of one direct upload (POST files)"),
    ("max_object_bytes", "size limit of one object posted to the S3 endpoint"),
    ("search_index_lag_s", "seconds before new files match filter/content searches"),
    ("seed", "fault-injection RNG seed"),
)


def build_parser(prog: str = "python -m deepset_cloud.emulator") -> argparse.ArgumentParser:
    """The argument parser (also used by the `deepset-cloud emulator` command)."""
    defaults = EmulatorConfig(data_dir=Path("."))
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Local emulator of the deepset Cloud API (files and upload sessions) with an S3-style "
        "upload endpoint. Prints its API URL on stdout when ready; stops on Ctrl-C / SIGTERM.",
    )
    add = parser.add_argument
    add("--host", default="127.0.0.1", help="interface to listen on (default %(default)s)")
    add("--port", type=int, default=8080, help="port (0 picks a free one; default %(default)s)")
    add(
        "--data-dir",
        type=Path,
        default=Path("emulator-data"),
        metavar="DIR",
        help="SQLite + blobs (default ./%(default)s)",
    )
    add(
        "--api-key",
        action="append",
        dest="api_keys",
        metavar="KEY",
        help=f"accepted Bearer API key, repeatable (default {DEFAULT_API_KEY})",
    )
    add(
        "--admin-token",
        default=DEFAULT_ADMIN_TOKEN,
        help="Bearer token of /_emulator/* (default %(default)s)",
    )
    for name, text in _KNOB_OPTIONS:
        default = getattr(defaults, name)
        metavar = "SECONDS" if name.endswith("_s") else "BYTES" if name.endswith("_bytes") else "N"
        add(
            "--" + name.replace("_", "-"),
            type=type(default),
            default=default,
            metavar=metavar,
            help=f"{text} (default %(default)s)",
        )
    add(
        "--timestamp-style",
        choices=("Z", "+00:00"),
        default=defaults.timestamp_style,
        help="datetime suffix; +00:00 for SDKs older than 0.0.39 (default %(default)s)",
    )
    add(
        "--open-session-scope",
        choices=("workspace", "account"),
        default=defaults.open_session_scope,
        help="what --max-open-sessions counts: the sessions of a workspace, or of an API key in all "
        "workspaces (default %(default)s)",
    )
    add(
        "--no-auto-create-workspaces",
        dest="auto_create_workspaces",
        action="store_false",
        help="answer 404 for unknown workspaces instead of creating them on first use",
    )
    add(
        "--fault",
        action="append",
        dest="faults",
        default=[],
        metavar="SPEC",
        type=_fault,
        help="inject faults, repeatable: route=s3_post,rate=0.1,status=503,retry_after=1 (also drop=true, lose_response=true, "
        "latency_s=0.2, count=3; route * means every route)",
    )
    return parser


def _fault(text: str) -> object:
    try:
        return parse_fault_option(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"invalid --fault {text!r}: {exc}") from None


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    """Build the EmulatorConfig from parsed arguments."""
    keys: list[str] = args.api_keys or [DEFAULT_API_KEY]
    return EmulatorConfig(
        data_dir=args.data_dir,
        api_keys=tuple(keys),
        admin_token=args.admin_token,
        timestamp_style=args.timestamp_style,
        open_session_scope=args.open_session_scope,
        auto_create_workspaces=args.auto_create_workspaces,
        faults=tuple(args.faults),
        **{name: getattr(args, name) for name, _help in _KNOB_OPTIONS},
    )


def main(argv: Sequence[str] | None = None, *, prog: str = "python -m deepset_cloud.emulator") -> int:
    """Run the emulator until SIGINT or SIGTERM; return the exit code (0 on a clean stop)."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    try:
        config = config_from_args(args)
    except ValueError as exc:
        parser.error(str(exc))
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(_serve(config, args.host, args.port, default_key=not args.api_keys))
    finally:
        close_loop(loop)


async def _serve(config: EmulatorConfig, host: str, port: int, *, default_key: bool) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, stop.set)
        except (NotImplementedError, RuntimeError):  # Windows or not the main thread
            with contextlib.suppress(ValueError):
                signal.signal(signum, lambda *_: loop.call_soon_threadsafe(stop.set))
    emulator = Emulator(config, host=host, port=port)
    try:
        await emulator.start()
    except OSError as exc:
        print(f"error: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1
    try:
        keys = (
            f"API key {DEFAULT_API_KEY!r}"
            if default_key
            else f"{len(config.api_keys)} API key(s) from --api-key"
        )
        default_admin = config.admin_token == DEFAULT_ADMIN_TOKEN
        admin = f"token {DEFAULT_ADMIN_TOKEN!r}" if default_admin else "the --admin-token"
        print(
            f"deepset Cloud emulator on {emulator.base_url} (data dir {config.data_dir.resolve()}, {keys}, "
            f"admin API {emulator.base_url}/_emulator/ with {admin}); Ctrl-C to stop",
            file=sys.stderr,
            flush=True,
        )
        print(emulator.api_url, flush=True)
        await stop.wait()
    finally:
        await emulator.stop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.remove_signal_handler(signum)
    return 0


def close_loop(loop: asyncio.AbstractEventLoop) -> None:
    """Close the loop the emulator ran on, like `asyncio.run` does at its end.

    Handler tasks still pending after shutdown are cancelled and awaited (so none is destroyed while
    pending), then async generators and the default executor are shut down.
    """
    try:
        loop.run_until_complete(_cancel_leftover_tasks())
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.run_until_complete(loop.shutdown_default_executor())
    finally:
        loop.close()


async def _cancel_leftover_tasks() -> None:
    current = asyncio.current_task()
    leftovers = [task for task in asyncio.all_tasks() if task is not current]
    for task in leftovers:
        task.cancel()
    await asyncio.gather(*leftovers, return_exceptions=True)
