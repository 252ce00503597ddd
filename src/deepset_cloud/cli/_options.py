"""Options shared by several commands, argument types with clean usage errors, and the command contract.

A command module defines `register(commands: Subparsers) -> None`, which adds its sub-parser(s) with
`add_command(...)` and the handler to call. A handler takes the parsed namespace and returns the exit code
(`EXIT_OK`, `EXIT_FAILED`); errors raised as `DeepsetCloudError` are turned into one line on stderr by
`deepset_cloud.cli.main`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from uuid import UUID

from deepset_cloud._config import DEFAULT_WORKSPACE_NAME

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = Any

__all__ = [
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_USAGE",
    "Handler",
    "Interrupted",
    "Subparsers",
    "add_command",
    "add_credentials",
    "add_json",
    "add_timeout",
    "file_types",
    "positive_int",
    "session_uuid",
    "show_progress",
    "workspace",
]

EXIT_OK = 0
"""Everything worked."""
EXIT_FAILED = 1
"""The command ran, but a file failed to upload, ingest or download, or the service failed."""
EXIT_USAGE = 2
"""Bad usage or configuration: unknown option, bad value, no or wrong API key, wrong API URL."""
EXIT_INTERRUPTED = 130
"""Ctrl-C (128 + SIGINT), after a summary of what was done."""

Handler = Callable[[argparse.Namespace], int]


class Interrupted(Exception):
    """A command was interrupted by Ctrl-C; `summary` says what it had done, `document` is its JSON form."""

    def __init__(self, summary: str, document: dict[str, Any] | None = None) -> None:
        super().__init__(summary)
        self.summary = summary
        self.document = document


def add_command(commands: Subparsers, name: str, handler: Handler, *, help: str) -> argparse.ArgumentParser:
    """Add a sub-command with its handler and the options every command has (`--debug`)."""
    parser = commands.add_parser(name, help=help, description=help[:1].upper() + help[1:] + ".")
    parser.set_defaults(handler=handler)
    parser.add_argument(
        "--debug",
        action="store_true",
        default=argparse.SUPPRESS,  # keep a `--debug` given before the command
        help="on an error, show the full traceback; log the SDK's requests to stderr",
    )
    return parser


def add_credentials(parser: argparse.ArgumentParser) -> None:
    """`--api-key`, `--api-url` and `--workspace-name`, as in the official CLI."""
    parser.add_argument(
        "--api-key",
        default=None,
        metavar="KEY",
        help="deepset Cloud API key (default: API_KEY from the environment, ./.env or ~/.deepset-cloud/.env)",
    )
    parser.add_argument(
        "--api-url",
        default=None,
        metavar="URL",
        help="API URL, ending with /api/v1 (default: API_URL, else https://api.cloud.deepset.ai/api/v1)",
    )
    parser.add_argument(
        "--workspace-name",
        default=None,
        metavar="NAME",
        help="workspace (default: DEFAULT_WORKSPACE_NAME from the environment or the .env files)",
    )


def add_json(parser: argparse.ArgumentParser, *, listing: bool) -> None:
    """`--json`: JSON lines for listings, one JSON document for reports."""
    what = "one JSON object per line" if listing else "one JSON document"
    parser.add_argument(
        "--json", action="store_true", help=f"print {what} instead of a table (fields: see the README)"
    )


def add_timeout(parser: argparse.ArgumentParser, *, default: int | None, what: str) -> None:
    """`--timeout-s` with the SDK's default for this call."""
    shown = "no limit" if default is None else f"{default}"
    parser.add_argument(
        "--timeout-s",
        type=positive_int,
        default=default,
        metavar="SECONDS",
        help=f"the longest time {what} may take, in seconds (default: {shown})",
    )


def positive_int(text: str) -> int:
    """An argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def session_uuid(text: str) -> UUID:
    """An argparse type: an upload session id (a UUID)."""
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an upload session id (a UUID like 5c9e7a5e-0f59-4c8e-9a37-1b1f0f0c6d2e): {text!r}"
        ) from None


def file_types(text: str) -> list[str]:
    """An argparse type: `.txt` or `.txt,.pdf` (the flag also repeats, as in the official CLI)."""
    types = [part.strip() for part in text.split(",") if part.strip()]
    if not types:
        raise argparse.ArgumentTypeError("give a file type such as .txt")
    return types


def workspace(args: argparse.Namespace) -> str:
    """The workspace to use: `--workspace-name`, else the SDK's default (DEFAULT_WORKSPACE_NAME)."""
    return DEFAULT_WORKSPACE_NAME if args.workspace_name is None else str(args.workspace_name)


def show_progress(args: argparse.Namespace) -> bool:
    """Progress bars: as asked, else only when stderr is a terminal (no bar noise in logs and pipes)."""
    if args.show_progress is None:
        return sys.stderr.isatty()
    return bool(args.show_progress)
