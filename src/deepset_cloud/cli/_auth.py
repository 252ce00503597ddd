"""`login` and `logout`: the global settings file `~/.deepset-cloud/.env`, as the official CLI writes it."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from pathlib import Path
from urllib.parse import urlsplit

from deepset_cloud._config import global_env_file
from deepset_cloud.cli._options import EXIT_OK, Subparsers, add_command
from deepset_cloud.errors import ConfigurationError

__all__ = ["API_URLS", "register"]

API_URLS = {"eu": "https://api.cloud.deepset.ai/api/v1", "us": "https://api.us.deepset.ai/api/v1"}
"""The deepset Cloud regions `login` offers, besides a custom URL."""


def register(commands: Subparsers) -> None:
    """Add `login` and `logout`."""
    login = add_command(
        commands,
        "login",
        _login,
        help="save API key, API URL and default workspace to ~/.deepset-cloud/.env (asks for what is not given)",
    )
    login.add_argument(
        "--environment",
        choices=[*sorted(API_URLS), "custom"],
        default=None,
        help="deepset Cloud region: eu, us, or custom (then give --api-url or answer the prompt)",
    )
    login.add_argument(
        "--api-url",
        default=None,
        metavar="URL",
        help="a custom API URL, ending with /api/v1 (implies custom)",
    )
    login.add_argument(
        "--api-key", default=None, metavar="KEY", help="the API key (default: asked for, without echo)"
    )
    login.add_argument(
        "--workspace-name", default=None, metavar="NAME", help="the default workspace (default: asked for)"
    )
    add_command(commands, "logout", _logout, help="delete ~/.deepset-cloud/.env, the file login writes")


def _ask(question: str, default: str | None = None) -> str:
    """Ask on stderr (stdout stays clean for programs), read a line from stdin."""
    suffix = f" [{default}]" if default else ""
    print(f"{question}{suffix}: ", end="", file=sys.stderr, flush=True)
    line = sys.stdin.readline()
    if not line:
        print(file=sys.stderr)  # end the prompt's line
        raise ConfigurationError(f"no answer to {question!r} (stdin is closed); pass it as an option")
    return line.strip() or (default or "")


def _ask_secret(question: str) -> str:
    if not sys.stdin.isatty():  # piped in: read a line, no echo to suppress
        return _ask(question)
    return getpass.getpass(f"{question}: ", stream=sys.stderr)


def _check_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(char.isspace() for char in url):
        raise ConfigurationError(f"not an http(s) URL: {url!r}")
    if not parts.path.rstrip("/").endswith("/api/v1"):
        print(f"warning: {url} does not end with /api/v1; the API is usually there", file=sys.stderr)
    return url.rstrip("/")


def _check_key(key: str) -> str:
    key = key.strip()
    if not key:
        raise ConfigurationError("no API key given")
    if any(char.isspace() or not char.isprintable() for char in key):
        raise ConfigurationError("the API key contains whitespace or control characters; paste the bare key")
    return key


def _check_workspace(name: str) -> str:
    name = name.strip()
    if not name or any(char.isspace() or not char.isprintable() for char in name):
        raise ConfigurationError(f"not a workspace name: {name!r}")
    return name


def _login(args: argparse.Namespace) -> int:
    """Write API_KEY, API_URL and DEFAULT_WORKSPACE_NAME to the global settings file (mode 0600)."""
    local = Path.cwd() / ".env"
    if local.is_file():
        print(f"Note: {local} takes precedence over the global settings written now.", file=sys.stderr)
    if args.api_url is not None:
        api_url = _check_url(args.api_url)
    else:
        environment = args.environment
        while environment is None:
            answer = _ask("Environment (eu, us, custom)", "eu").lower()
            environment = answer if answer in (*API_URLS, "custom") else None
            if environment is None:
                print(f"Please answer eu, us or custom, not {answer!r}.", file=sys.stderr)
        api_url = API_URLS[environment] if environment in API_URLS else _check_url(_ask("Custom API URL"))
    api_key = _check_key(args.api_key if args.api_key is not None else _ask_secret("API key"))
    workspace = _check_workspace(
        args.workspace_name if args.workspace_name is not None else _ask("Default workspace", "default")
    )
    path = global_env_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    content = f"API_KEY={api_key}\nAPI_URL={api_url}\nDEFAULT_WORKSPACE_NAME={workspace}\n"
    # Create the file private before the key is written into it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(content)
    path.chmod(0o600)
    print(f"Saved the API key, {api_url} and workspace {workspace!r} to {path}.")
    return EXIT_OK


def _logout(args: argparse.Namespace) -> int:
    path = global_env_file()
    if path.exists():
        path.unlink()
        print(f"Removed {path}.")
    else:
        print(f"Not logged in ({path} does not exist).")
    return EXIT_OK
