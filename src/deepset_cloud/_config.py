"""Settings resolution: explicit arguments > environment > ./.env > ~/.deepset-cloud/.env > defaults.

Everything is read at call time, never frozen at import, so a program that sets `API_KEY` after importing
the SDK (or a test that monkeypatches the environment) gets what it expects. The API key is never shown
in a repr, a log line or an error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import attrs

from deepset_cloud.errors import ConfigurationError

__all__ = [
    "DEFAULT_API_URL",
    "ApiKey",
    "DEFAULT_WORKSPACE_NAME",
    "Settings",
    "check_workspace_name",
    "global_env_file",
    "hide_key",
    "parse_env_file",
    "read_setting",
    "resolve_settings",
    "resolve_workspace",
]

DEFAULT_API_URL = "https://api.cloud.deepset.ai/api/v1"


class _DefaultWorkspaceName(str):
    """The type of `DEFAULT_WORKSPACE_NAME`: a str sentinel meaning "the configured default workspace"."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "DEFAULT_WORKSPACE_NAME"

    def __reduce__(self) -> str:
        # Pickle by reference so the sentinel keeps its identity.
        return "DEFAULT_WORKSPACE_NAME"


class ApiKey(str):
    """An API key: a str whose repr never shows it.

    Tools that print the locals of a traceback's frames (`pytest -l`, Sentry, debuggers) use repr, so every
    frame that holds the key holds it as an `ApiKey` (public functions rebind their `api_key` argument
    with `hide_key` first thing)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "'<API key>'"


def hide_key(api_key: str | None) -> str | None:
    """Return `api_key` as an `ApiKey` (None stays None, anything else is returned unchanged)."""
    if isinstance(api_key, str) and not isinstance(api_key, ApiKey):
        return ApiKey(api_key)
    return api_key


DEFAULT_WORKSPACE_NAME: str = _DefaultWorkspaceName("")
"""Default for `workspace_name`: use `DEFAULT_WORKSPACE_NAME` from the environment or a `.env` file.

It is resolved when a function is called, not when the SDK is imported.
"""


def global_env_file() -> Path:
    """Return the path of the user's global settings file, `~/.deepset-cloud/.env`."""
    return Path.home() / ".deepset-cloud" / ".env"


def parse_env_file(text: str) -> dict[str, str]:
    """Parse `.env` text: `KEY=VALUE` lines, optional `export`, quotes, `#` comments, blank lines.

    Malformed lines are ignored, as python-dotenv does, so one bad line does not hide the others.
    """
    values: dict[str, str] = {}
    for raw_line in text.splitlines():
        line = raw_line.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep or not key or not key.replace("_", "").replace(".", "").isalnum():
            continue
        values[key] = _parse_env_value(value.strip())
    return values


def _parse_env_value(value: str) -> str:
    if value[:1] == "'":
        end = value.find("'", 1)
        return value[1:] if end == -1 else value[1:end]  # unterminated: keep the rest, like python-dotenv
    if value[:1] == '"':
        chars: list[str] = []
        index = 1
        while index < len(value):
            char = value[index]
            if char == "\\" and index + 1 < len(value):
                following = value[index + 1]
                chars.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(following, "\\" + following))
                index += 2
                continue
            if char == '"':
                break
            chars.append(char)
            index += 1
        return "".join(chars)
    # Unquoted: an inline comment starts at " #".
    comment = value.find(" #")
    if comment != -1:
        value = value[:comment]
    return value.strip()


def _read_env_file(path: Path) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return parse_env_file(text)


def read_setting(
    key: str,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home_file: Path | None = None,
) -> str | None:
    """Return the value of `key` from the environment, then `./.env`, then `~/.deepset-cloud/.env`.

    Empty values count as unset, so an empty `API_KEY=` in a local `.env` does not hide the global one.
    """
    env = os.environ if environ is None else environ
    value = env.get(key)
    if value:
        return value
    for path in ((cwd or Path.cwd()) / ".env", home_file or global_env_file()):
        value = _read_env_file(path).get(key)
        if value:
            return value
    return None


@attrs.frozen(kw_only=True)
class Settings:
    """Resolved connection settings. The API key is redacted from the repr."""

    api_key: str = attrs.field(repr=False)
    api_url: str
    workspace_name: str | None = None


def _normalise_url(api_url: str) -> str:
    url = api_url.strip()
    if url.endswith("/"):
        url = url[:-1]
    if not url.startswith(("http://", "https://")):
        raise ConfigurationError(
            f"api_url must start with http:// or https://, got {url!r}. "
            f"Pass api_url= or set API_URL (default {DEFAULT_API_URL})."
        )
    return url


def resolve_settings(
    api_key: str | None = None,
    api_url: str | None = None,
    workspace_name: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    home_file: Path | None = None,
    read_workspace: bool = True,
) -> Settings:
    """Resolve the API key, URL and default workspace at call time.

    Args:
        api_key: explicit API key; wins over every other source.
        api_url: explicit API URL; one trailing `/` is stripped.
        workspace_name: explicit default workspace (None or the `DEFAULT_WORKSPACE_NAME` sentinel = unset).
        environ: the environment to read (tests); defaults to `os.environ`.
        cwd: the folder whose `.env` is read (tests); defaults to the current directory.
        home_file: the global `.env` (tests); defaults to `~/.deepset-cloud/.env`.
        read_workspace: look up `DEFAULT_WORKSPACE_NAME` when `workspace_name` is unset (else leave it None,
            to be read when a call needs it).

    Returns:
        The settings; `workspace_name` may be None (checked where a workspace is needed).

    Raises:
        ConfigurationError: no API key anywhere, an API key that cannot be one (whitespace, control or
            non-ASCII characters), an invalid API URL or workspace name.
    """

    def read(key: str) -> str | None:
        return read_setting(key, environ=environ, cwd=cwd, home_file=home_file)

    api_key = hide_key(api_key)
    key = hide_key(api_key or read("API_KEY"))
    if not key:
        raise ConfigurationError(
            "No deepset Cloud API key: pass api_key=..., set the API_KEY environment variable, "
            f"or add API_KEY=... to ./.env or {global_env_file()} (`deepset-cloud login` writes it)."
        )
    key = ApiKey(key.strip())
    if any(char.isspace() or not char.isprintable() for char in key):
        # Never echo the key: say what is wrong with it, not what it is.
        raise ConfigurationError(
            "The API key contains whitespace or control characters (a stray newline from a file or a "
            "copy-paste?); pass the bare key."
        )
    if not key.isascii():
        raise ConfigurationError(
            "The API key contains non-ASCII characters, which no deepset Cloud key has (a typographic "
            "quote or dash from a copy-paste?); pass the bare key."
        )
    url = api_url or read("API_URL") or DEFAULT_API_URL
    workspace: str | None = workspace_name
    if workspace is DEFAULT_WORKSPACE_NAME:
        workspace = None
    if workspace is None and read_workspace:
        workspace = read("DEFAULT_WORKSPACE_NAME")
    workspace = check_workspace_name(workspace) if workspace else None
    return Settings(api_key=key, api_url=_normalise_url(url), workspace_name=workspace)


def resolve_workspace(workspace_name: object, default: str | None = None) -> str:
    """Return the workspace to use for one call.

    Args:
        workspace_name: the caller's value; the `DEFAULT_WORKSPACE_NAME` sentinel means "the default".
        default: the default workspace of the client (already resolved), or None to read the environment.

    Raises:
        ConfigurationError: no workspace is configured, or the name is not a valid workspace name.
    """
    if workspace_name is DEFAULT_WORKSPACE_NAME:
        resolved = default or read_setting("DEFAULT_WORKSPACE_NAME")
        if not resolved:
            raise ConfigurationError(
                "No workspace: pass workspace_name=..., set the DEFAULT_WORKSPACE_NAME environment variable, "
                f"or add DEFAULT_WORKSPACE_NAME=... to ./.env or {global_env_file()}."
            )
        return check_workspace_name(resolved)
    return check_workspace_name(workspace_name)


def check_workspace_name(workspace_name: object) -> str:
    """Return `workspace_name` if it can name a workspace in a URL path segment.

    Raises:
        ConfigurationError: not a string, empty, `.` or `..` (a URL normalizes them away, so the request
            would reach another resource), or containing a slash, a backslash or a control character.
    """
    if not isinstance(workspace_name, str) or not workspace_name.strip():
        raise ConfigurationError(f"workspace_name must be a non-empty string, got {workspace_name!r}.")
    if workspace_name in (".", "..") or any(c in "/\\" or not c.isprintable() for c in workspace_name):
        raise ConfigurationError(
            f"workspace_name {workspace_name!r} is not a workspace name: it must not be `.` or `..` and must "
            "not contain slashes, backslashes or control characters."
        )
    return workspace_name
