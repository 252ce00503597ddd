"""The `deepset-cloud` command: log in, upload, list, inspect, download, and run the local emulator.

Credentials come from `--api-key`/`--api-url`, else `API_KEY`/`API_URL`, else `./.env`, else
`~/.deepset-cloud/.env`, as in the official CLI.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from uuid import UUID

import attrs

from deepset_cloud import DEFAULT_WORKSPACE_NAME, __version__
from deepset_cloud._config import global_env_file
from deepset_cloud.errors import DeepsetCloudError
from deepset_cloud.models import WriteMode

_Handler = Callable[[argparse.Namespace], int]


def _credentials(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-key", default=None, help="API key (default: API_KEY from the environment or .env)"
    )
    parser.add_argument(
        "--api-url", default=None, help="API URL (default: API_URL or the deepset Cloud EU API)"
    )
    parser.add_argument(
        "--workspace-name",
        default=None,
        help="workspace (default: DEFAULT_WORKSPACE_NAME from the environment)",
    )


def _workspace(args: argparse.Namespace) -> str:
    # The sentinel defers to DEFAULT_WORKSPACE_NAME from the environment, resolved at call time.
    return DEFAULT_WORKSPACE_NAME if args.workspace_name is None else str(args.workspace_name)


def _print_json(value: object) -> None:
    print(json.dumps(value, indent=2, default=str))


def _upload(args: argparse.Namespace) -> int:
    from deepset_cloud.demo import format_report
    from deepset_cloud.sync_client import files

    report = files.upload(
        paths=[Path(path) for path in args.paths],
        api_key=args.api_key,
        api_url=args.api_url,
        write_mode=WriteMode(args.write_mode),
        blocking=args.blocking,
        timeout_s=args.timeout_s,
        show_progress=args.show_progress,
        recursive=args.recursive,
        desired_file_types=args.use_type or None,
        safe_mode=args.safe_mode,
        workspace_name=_workspace(args),
    )
    print(format_report(report))
    return 1 if report.failed_upload_count else 0


def _list_files(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    for page in files.list_files(
        api_key=args.api_key,
        api_url=args.api_url,
        name=args.name,
        odata_filter=args.odata_filter,
        batch_size=args.batch_size,
        workspace_name=_workspace(args),
    ):
        for item in page:
            print(f"{item.file_id}  {item.created_at.isoformat()}  {item.size:>10}  {item.name}")
    return 0


def _list_upload_sessions(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    for page in files.list_upload_sessions(
        api_key=args.api_key,
        api_url=args.api_url,
        is_expired=args.is_expired,
        batch_size=args.batch_size,
        workspace_name=_workspace(args),
    ):
        for session in page:
            print(
                f"{session.session_id}  {session.status.value:<8} {getattr(session.write_mode, 'value', session.write_mode):<9} {session.created_at}"
            )
    return 0


def _get_upload_session(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    status = files.get_upload_session(
        session_id=UUID(args.session_id),
        api_key=args.api_key,
        api_url=args.api_url,
        workspace_name=_workspace(args),
    )
    _print_json(attrs.asdict(status))
    return 0


def _download(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    report = files.download(
        file_dir=args.file_dir,
        name=args.name,
        odata_filter=args.odata_filter,
        include_meta=args.include_meta,
        batch_size=args.batch_size,
        api_key=args.api_key,
        api_url=args.api_url,
        show_progress=args.show_progress,
        safe_mode=args.safe_mode,
        workspace_name=_workspace(args),
    )
    print(f"Downloaded {len(report.downloaded)} file(s), {len(report.failed)} failed.")
    for failure in report.failed:
        print(f"  failed: {failure.name}: {failure.reason}", file=sys.stderr)
    return 1 if report.failed else 0


_API_URLS = {"eu": "https://api.cloud.deepset.ai/api/v1", "us": "https://api.us.deepset.ai/api/v1"}


def _login(args: argparse.Namespace) -> int:
    """Write API_KEY, API_URL and DEFAULT_WORKSPACE_NAME to the global settings file (0600)."""
    api_key = args.api_key or getpass.getpass("API key: ")
    api_url = args.api_url or _API_URLS[args.environment]
    workspace = args.workspace_name or input("Default workspace [default]: ").strip() or "default"
    if not api_key.strip():
        print("error: no API key given", file=sys.stderr)
        return 2
    path = global_env_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    content = f"API_KEY={api_key.strip()}\nAPI_URL={api_url}\nDEFAULT_WORKSPACE_NAME={workspace}\n"
    # Create the file private before the key is written into it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    path.chmod(0o600)
    print(f"Saved the API key, {api_url} and workspace {workspace!r} to {path}.")
    return 0


def _logout(args: argparse.Namespace) -> int:
    path = global_env_file()
    if path.exists():
        path.unlink()
        print(f"Removed {path}.")
    else:
        print(f"Not logged in ({path} does not exist).")
    return 0


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, _Handler]]:
    """Build the argument parser and the handler for each sub-command."""
    parser = argparse.ArgumentParser(prog="deepset-cloud", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"deepset-cloud {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, _Handler] = {}
    toggle = argparse.BooleanOptionalAction

    upload = commands.add_parser("upload", help="upload files and folders")
    upload.add_argument("paths", nargs="+", help="files and folders to upload")
    _credentials(upload)
    upload.add_argument("--write-mode", choices=[mode.value for mode in WriteMode], default="KEEP")
    upload.add_argument("--blocking", action=toggle, default=True, help="wait for ingestion (default: yes)")
    upload.add_argument("--timeout-s", type=int, default=None, help="how long to wait for ingestion")
    upload.add_argument("--show-progress", action=toggle, default=True)
    upload.add_argument("--recursive", action=toggle, default=False)
    upload.add_argument(
        "--use-type", action="append", default=[], help="file type to upload, e.g. .txt (repeat)"
    )
    upload.add_argument("--safe-mode", action="store_true", help="one connection, more retries")
    handlers["upload"] = _upload

    list_files = commands.add_parser("list-files", help="list the files of a workspace")
    _credentials(list_files)
    list_files.add_argument("--name", default=None, help="substring of the file name")
    list_files.add_argument("--odata-filter", default=None, help="e.g. \"category eq 'news'\"")
    list_files.add_argument("--batch-size", type=int, default=100)
    handlers["list-files"] = _list_files

    sessions = commands.add_parser("list-upload-sessions", help="list upload sessions")
    _credentials(sessions)
    sessions.add_argument("--is-expired", action=toggle, default=None)
    sessions.add_argument("--batch-size", type=int, default=100)
    handlers["list-upload-sessions"] = _list_upload_sessions

    session = commands.add_parser("get-upload-session", help="show the ingestion status of an upload session")
    session.add_argument("session_id")
    _credentials(session)
    handlers["get-upload-session"] = _get_upload_session

    download = commands.add_parser("download", help="download files (and their metadata)")
    _credentials(download)
    download.add_argument("--file-dir", type=Path, default=None)
    download.add_argument("--name", default=None)
    download.add_argument("--odata-filter", default=None)
    download.add_argument("--include-meta", action=toggle, default=True)
    download.add_argument("--batch-size", type=int, default=50)
    download.add_argument("--show-progress", action=toggle, default=True)
    download.add_argument("--safe-mode", action="store_true")
    handlers["download"] = _download

    login = commands.add_parser("login", help="save API key, API URL and workspace to ~/.deepset-cloud/.env")
    login.add_argument("--api-key", default=None, help="API key (prompted for, hidden, if not given)")
    login.add_argument("--environment", choices=sorted(_API_URLS), default="eu", help="deepset Cloud region")
    login.add_argument("--api-url", default=None, help="custom API URL (overrides --environment)")
    login.add_argument("--workspace-name", default=None, help="default workspace (prompted for if not given)")
    handlers["login"] = _login
    handlers["logout"] = _logout
    commands.add_parser("logout", help="delete ~/.deepset-cloud/.env")

    commands.add_parser("emulator", help="run the local emulator (options: deepset-cloud emulator --help)")
    commands.add_parser("demo", help="upload a generated corpus into a local emulator")
    return parser, handlers


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    # The emulator and the demo own their options; hand everything after the sub-command to them.
    if arguments[:1] == ["emulator"]:
        from deepset_cloud.emulator import main as emulator_main

        return emulator_main(arguments[1:])
    if arguments[:1] == ["demo"]:
        from deepset_cloud.demo import main as demo_main

        return demo_main(arguments[1:])
    parser, handlers = build_parser()
    args = parser.parse_args(arguments)
    try:
        return handlers[args.command](args)
    except DeepsetCloudError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
