"""The `deepset-cloud` command: log in, upload, list, inspect, download, and run the local emulator.

Credentials come from `--api-key`/`--api-url`, else `API_KEY`/`API_URL`, else `./.env`, else
`~/.deepset-cloud/.env`, as in the official CLI. Exit codes: 0 all good, 1 a file failed to upload,
ingest or download (named on the output) or the service failed, 2 bad usage or configuration,
130 interrupted (after a summary of what was done).

Adding a command: write a module here with `register(commands)` that calls `_options.add_command(...)`
(see `_sessions.py` for a small one), and add the module's name to `_COMMAND_MODULES` below.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from deepset_cloud import __version__
from deepset_cloud.cli._options import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, Interrupted
from deepset_cloud.errors import (
    APIError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConnectError,
    DeepsetCloudError,
    NotFoundError,
    PermissionDeniedError,
)

__all__ = ["build_parser", "main"]

PROG = "deepset-cloud"

_COMMAND_MODULES = ("_files", "_corpus", "_sessions", "_auth", "_completion")
"""Modules under `deepset_cloud.cli` with a `register(commands)` function, in the order of `--help`."""

_PASS_THROUGH = {
    "emulator": "run the local emulator of the deepset Cloud API (deepset-cloud emulator --help)",
    "demo": "upload a generated corpus into a local emulator and summarise it",
}
"""Commands with their own parsers: everything after the command name is handed to them."""

_USAGE_ERRORS = (
    ConfigurationError,
    AuthenticationError,
    PermissionDeniedError,
    BadRequestError,
    ConnectError,
)
"""Errors that mean "fix the command or the configuration" (exit 2) rather than "it failed" (exit 1)."""


def build_parser() -> argparse.ArgumentParser:
    """Build the parser of every command (cheap: the SDK's HTTP stack is imported only to run one)."""
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(__doc__ or "").split("\n\n")[0].replace("\n", " "),
        epilog="Run `deepset-cloud COMMAND --help` for the options of a command. Exit codes: 0 all good, "
        "1 a file failed (named in the output), 2 usage or configuration, 130 interrupted.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "--debug", action="store_true", help="on an error, show the full traceback; log the SDK's requests"
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in _COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{module}").register(commands)
    for name, help_text in _PASS_THROUGH.items():
        commands.add_parser(name, help=help_text, add_help=False)
    return parser


def _run_pass_through(name: str, arguments: list[str]) -> int:
    prog = f"{PROG} {name}"
    try:
        if name == "emulator":
            from deepset_cloud.emulator import main as emulator_main

            return emulator_main(arguments, prog=prog)
        from deepset_cloud.demo import main as demo_main

        return demo_main(arguments, prog=prog)
    except ModuleNotFoundError as error:
        if error.name != "odata_query":
            raise
        print(
            f"error: `{prog}` needs the emulator extra: pip install 'deepset-cloud[emulator]'",
            file=sys.stderr,
        )
        return EXIT_USAGE


def _exit_code(error: DeepsetCloudError) -> int:
    if isinstance(error, _USAGE_ERRORS):
        return EXIT_USAGE
    # A 404 without the API's own JSON body (or a redirect) means API_URL points somewhere else.
    if isinstance(error, APIError) and (isinstance(error, NotFoundError) or 300 <= error.status_code < 400):
        return EXIT_USAGE
    return EXIT_FAILED


def _silence_stdout() -> None:
    """After a broken pipe: point stdout at /dev/null so the interpreter's final flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line with `argv` (default: `sys.argv[1:]`); returns the exit code."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] and arguments[0] in _PASS_THROUGH:
        return _run_pass_through(arguments[0], arguments[1:])
    parser = build_parser()
    args = parser.parse_args(arguments)  # usage errors exit with 2, as argparse does
    debug = bool(getattr(args, "debug", False))
    if debug:
        logging.basicConfig(level=logging.DEBUG, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        code: int = args.handler(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader went away (`deepset-cloud list-files | head`): that is how pipes end, not an error.
        _silence_stdout()
        return EXIT_OK
    except Interrupted as interrupt:
        if getattr(args, "json", False) and interrupt.document is not None:
            from deepset_cloud.cli._output import print_json

            print_json(interrupt.document)
        print(f"interrupted: {interrupt.summary}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except DeepsetCloudError as error:
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return _exit_code(error)
    except OSError as error:  # a local file problem, e.g. a download folder that cannot be created
        if debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except Exception as error:  # a bug: still one line, with the way to see more
        if debug:
            raise
        print(
            f"error: unexpected {type(error).__name__}: {error} (run with --debug for the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    return code
