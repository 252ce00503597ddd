"""Settings resolution: explicit > environment > ./.env > ~/.deepset-cloud/.env > defaults, at call time."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

import deepset_cloud
from deepset_cloud import DEFAULT_WORKSPACE_NAME, AsyncClient
from deepset_cloud._config import (
    DEFAULT_API_URL,
    Settings,
    parse_env_file,
    read_setting,
    resolve_settings,
    resolve_workspace,
)
from deepset_cloud.async_client import files
from deepset_cloud.errors import ConfigurationError


def write_global_env(home: Path, text: str) -> None:
    folder = home / ".deepset-cloud"
    folder.mkdir(exist_ok=True)
    (folder / ".env").write_text(text, encoding="utf-8")


def test_nothing_configured_raises_configuration_error_saying_how_to_fix() -> None:
    with pytest.raises(ConfigurationError, match=r"API_KEY") as info:
        resolve_settings()
    assert "api_key=" in str(info.value)
    assert ".deepset-cloud" in str(info.value)


def test_defaults_apply_when_only_a_key_is_given() -> None:
    settings = resolve_settings(api_key="k")
    assert settings == Settings(api_key="k", api_url=DEFAULT_API_URL, workspace_name=None)


def test_global_env_file_is_the_last_source(isolated_settings: Path) -> None:
    write_global_env(
        isolated_settings, "API_KEY=global-key\nAPI_URL=https://global/api/v1\nDEFAULT_WORKSPACE_NAME=g\n"
    )
    assert resolve_settings() == Settings(
        api_key="global-key", api_url="https://global/api/v1", workspace_name="g"
    )


def test_local_env_file_wins_over_global_and_gaps_are_filled(isolated_settings: Path) -> None:
    write_global_env(isolated_settings, "API_KEY=global-key\nDEFAULT_WORKSPACE_NAME=global-ws\n")
    Path(".env").write_text("API_KEY=local-key\n", encoding="utf-8")
    settings = resolve_settings()
    assert settings.api_key == "local-key"
    assert settings.workspace_name == "global-ws"  # not in ./.env: taken from the global file


def test_environment_wins_over_env_files(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_global_env(isolated_settings, "API_KEY=global-key\n")
    Path(".env").write_text("API_KEY=local-key\nAPI_URL=https://local/api/v1\n", encoding="utf-8")
    monkeypatch.setenv("API_KEY", "env-key")
    settings = resolve_settings()
    assert (settings.api_key, settings.api_url) == ("env-key", "https://local/api/v1")


def test_explicit_arguments_win_over_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "env-key")
    monkeypatch.setenv("API_URL", "https://env/api/v1")
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", "env-ws")
    settings = resolve_settings("arg-key", "https://arg/api/v1/", "arg-ws")
    assert settings == Settings(api_key="arg-key", api_url="https://arg/api/v1", workspace_name="arg-ws")


def test_empty_values_count_as_unset(isolated_settings: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_global_env(isolated_settings, "API_KEY=global-key\n")
    Path(".env").write_text("API_KEY=\n", encoding="utf-8")
    monkeypatch.setenv("API_KEY", "")
    assert resolve_settings().api_key == "global-key"


def test_settings_are_read_at_call_time_not_import(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("API_KEY", "first")
    assert resolve_settings().api_key == "first"
    monkeypatch.setenv("API_KEY", "second")
    assert resolve_settings().api_key == "second"


def test_only_one_trailing_slash_is_stripped() -> None:
    assert resolve_settings(api_key="k", api_url="http://host/api/v1/").api_url == "http://host/api/v1"
    assert resolve_settings(api_key="k", api_url="http://host/api/v1//").api_url == "http://host/api/v1/"


def test_url_without_scheme_is_rejected() -> None:
    with pytest.raises(ConfigurationError, match="http"):
        resolve_settings(api_key="k", api_url="api.cloud.deepset.ai/api/v1")


def test_api_key_never_appears_in_reprs() -> None:
    secret = "api_SECRET-123"
    settings = resolve_settings(api_key=secret, workspace_name="ws")
    client = AsyncClient(api_key=secret, api_url="http://127.0.0.1:9/api/v1")
    for text in (repr(settings), str(settings), repr(client), repr(client._transport), repr(client._api)):
        assert secret not in text


def test_explicit_argument_sources_can_be_injected(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DEFAULT_WORKSPACE_NAME=from-dir\n", encoding="utf-8")
    assert (
        read_setting("DEFAULT_WORKSPACE_NAME", environ={}, cwd=tmp_path, home_file=tmp_path / "none")
        == "from-dir"
    )
    assert (
        read_setting("DEFAULT_WORKSPACE_NAME", environ={"DEFAULT_WORKSPACE_NAME": "env"}, cwd=tmp_path)
        == "env"
    )


# -- .env parsing ------------------------------------------------------------------------------------------


def test_parse_env_file_handles_quotes_comments_export_and_junk() -> None:
    text = """
# a comment
API_KEY = "quoted # not a comment"
export API_URL='https://single/api/v1'
DEFAULT_WORKSPACE_NAME=plain value # trailing comment
EMPTY=
ESCAPED="line\\nnext \\"q\\""
UNTERMINATED="rest of line
not a pair
=no key
BAD KEY=x
"""
    assert parse_env_file(text) == {
        "API_KEY": "quoted # not a comment",
        "API_URL": "https://single/api/v1",
        "DEFAULT_WORKSPACE_NAME": "plain value",
        "EMPTY": "",
        "ESCAPED": 'line\nnext "q"',
        "UNTERMINATED": "rest of line",
    }


def test_unreadable_env_file_is_ignored(isolated_settings: Path) -> None:
    write_global_env(isolated_settings, "API_KEY=global-key\n")
    Path(".env").mkdir()  # a folder named .env cannot be read as a file
    assert resolve_settings().api_key == "global-key"


def test_env_file_with_invalid_utf8_is_ignored(isolated_settings: Path) -> None:
    write_global_env(isolated_settings, "API_KEY=global-key\n")
    Path(".env").write_bytes(b"API_KEY=\xff\xfe\n")
    assert resolve_settings().api_key == "global-key"


# -- the DEFAULT_WORKSPACE_NAME sentinel ------------------------------------------------------------------


def test_sentinel_is_a_str_with_a_readable_repr_that_survives_pickling() -> None:
    assert isinstance(DEFAULT_WORKSPACE_NAME, str)
    assert repr(DEFAULT_WORKSPACE_NAME) == "DEFAULT_WORKSPACE_NAME"
    assert pickle.loads(pickle.dumps(DEFAULT_WORKSPACE_NAME)) is DEFAULT_WORKSPACE_NAME
    assert files.DEFAULT_WORKSPACE_NAME is deepset_cloud.DEFAULT_WORKSPACE_NAME


def test_sentinel_resolves_from_environment_at_call_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", "one")
    assert resolve_workspace(DEFAULT_WORKSPACE_NAME) == "one"
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", "two")
    assert resolve_workspace(DEFAULT_WORKSPACE_NAME) == "two"


def test_client_default_workspace_wins_over_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", "env")
    assert resolve_workspace(DEFAULT_WORKSPACE_NAME, "client-default") == "client-default"
    assert resolve_workspace("explicit", "client-default") == "explicit"


def test_missing_workspace_says_how_to_fix() -> None:
    with pytest.raises(ConfigurationError, match="DEFAULT_WORKSPACE_NAME"):
        resolve_workspace(DEFAULT_WORKSPACE_NAME)


@pytest.mark.parametrize("bad", ["", "   ", None, 5])
def test_explicitly_empty_or_non_string_workspace_is_rejected(bad: object) -> None:
    with pytest.raises(ConfigurationError, match="workspace_name"):
        resolve_workspace(bad)


def test_literal_string_with_the_sentinel_value_is_not_the_sentinel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", "env")
    with pytest.raises(ConfigurationError):
        resolve_workspace(str(DEFAULT_WORKSPACE_NAME))  # == "" but not the sentinel itself


# -- the client constructor -------------------------------------------------------------------------------


def test_client_without_key_fails_before_any_io() -> None:
    with pytest.raises(ConfigurationError, match="API_KEY"):
        AsyncClient()


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timeout_s": 0},
        {"s3_concurrency": 0},
        {"max_files_per_session": 1},
        {"max_connections": -1},
        {"timeout_s": True},
    ],
)
def test_client_rejects_bad_options(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigurationError):
        AsyncClient(api_key="k", **kwargs)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_module_function_without_key_raises_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="API_KEY"):
        await files.get_upload_session(session_id="2f9e1c7a-6a0b-4d2e-9a57-0d7c3c7b1e11")  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_module_function_without_workspace_raises_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("API_KEY", "k")
    monkeypatch.setenv("API_URL", "http://127.0.0.1:9/api/v1")  # never contacted
    with pytest.raises(ConfigurationError, match="workspace"):
        async for _ in files.list_files():
            pass


def test_surrounding_whitespace_of_the_key_is_stripped() -> None:
    # e.g. API_KEY="$(cat key.txt)" keeps the file's trailing newline.
    assert resolve_settings(api_key="api_abc\n").api_key == "api_abc"


@pytest.mark.parametrize("bad_key", ["api_a\nb", "api a", "api_\x00x", "api_\x7fx"])
def test_a_key_with_inner_whitespace_or_control_characters_is_refused_without_echoing_it(
    bad_key: str,
) -> None:
    with pytest.raises(ConfigurationError, match="whitespace or control characters") as info:
        resolve_settings(api_key=bad_key)
    assert bad_key not in str(info.value)
