"""Interactive `login` (eu / us / custom URL), `logout`, and the shell completion script."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from deepset_cloud import cli
from deepset_cloud.cli._completion import completion_script

from ._helpers import clean_env, run


def _settings(home: Path) -> str:
    return (home / ".deepset-cloud" / ".env").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("answers", "expected_url"),
    [
        ("\n", "https://api.cloud.deepset.ai/api/v1"),  # the default region: eu
        ("us\n", "https://api.us.deepset.ai/api/v1"),
        (
            "mars\ncustom\nhttp://127.0.0.1:9/api/v1/\n",
            "http://127.0.0.1:9/api/v1",
        ),  # asks again after a bad answer
    ],
)
def test_interactive_login_offers_eu_us_or_a_custom_url(
    tmp_path: Path, answers: str, expected_url: str
) -> None:
    home = tmp_path / "home"
    # A key pasted with a Windows line end and spaces around it; an empty workspace answer takes the default.
    result = run(["login"], env=clean_env(home), stdin=answers + "  my-key-123 \r\n\n", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _settings(home) == f"API_KEY=my-key-123\nAPI_URL={expected_url}\nDEFAULT_WORKSPACE_NAME=default\n"
    assert (home / ".deepset-cloud" / ".env").stat().st_mode & 0o777 == 0o600
    assert "my-key-123" not in result.stdout + result.stderr
    if answers.startswith("mars"):
        assert "Please answer eu, us or custom" in result.stderr


def test_login_refuses_a_key_with_inner_whitespace_and_writes_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    result = run(
        ["login", "--environment", "eu", "--workspace-name", "ws"], env=clean_env(home), stdin="my key\n"
    )
    assert result.returncode == 2
    assert "whitespace" in result.stderr
    assert not (home / ".deepset-cloud" / ".env").exists()


def test_login_without_answers_on_a_closed_stdin_is_a_usage_error(tmp_path: Path) -> None:
    result = run(["login", "--environment", "us"], env=clean_env(tmp_path / "home"), stdin="")
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1].startswith("error: no answer to 'API key'")


def test_login_from_options_is_read_by_the_sdk_and_logout_removes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from deepset_cloud._config import resolve_settings

    for name in ("API_KEY", "API_URL", "DEFAULT_WORKSPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    args = [
        "login",
        "--api-key",
        "api_login_key",
        "--api-url",
        "http://127.0.0.1:9/api/v1",
        "--workspace-name",
        "ws",
    ]
    assert cli.main(args) == 0
    assert "api_login_key" not in capsys.readouterr().out
    settings = resolve_settings()
    assert (settings.api_key, settings.api_url, settings.workspace_name) == (
        "api_login_key",
        "http://127.0.0.1:9/api/v1",
        "ws",
    )
    assert cli.main(["logout"]) == 0
    assert not (tmp_path / "home" / ".deepset-cloud" / ".env").exists()
    assert cli.main(["logout"]) == 0
    assert "Not logged in" in capsys.readouterr().out


def _complete(shell: str, script: str, words: list[str]) -> list[str]:
    """Run the completion function the way bash does on <TAB> after `words` (the last one is being typed)."""
    quoted = " ".join(f"'{word}'" for word in words)
    driver = (
        f"{script}\nCOMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _deepset_cloud_complete; "
        'printf "%s\\n" "${COMPREPLY[@]}"'
    )
    result = subprocess.run([shell, "-c", driver], capture_output=True, text=True, timeout=30, check=True)
    return [line for line in result.stdout.splitlines() if line]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_options_and_choices() -> None:
    script = completion_script(cli.build_parser(), "bash")
    assert "list-upload-sessions" in _complete("bash", script, ["deepset-cloud", "list-"])
    assert _complete("bash", script, ["deepset-cloud", "upload", "--write"]) == ["--write-mode"]
    assert _complete("bash", script, ["deepset-cloud", "upload", "--write-mode", ""]) == [
        "KEEP",
        "OVERWRITE",
        "FAIL",
    ]
    assert "--no-safe-mode" in _complete("bash", script, ["deepset-cloud", "download", "--no-s"])
    assert _complete("bash", script, ["deepset-cloud", "completion", "z"]) == ["zsh"]


def test_the_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", "zsh"]) == 0
    script = capsys.readouterr().out
    assert script.startswith("autoload -U +X bashcompinit && bashcompinit\n")
    assert "complete -o default -F _deepset_cloud_complete deepset-cloud" in script
