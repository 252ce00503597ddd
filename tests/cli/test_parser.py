"""The parser itself: help for every option, a cheap `--help`, and the pass-through commands' usages."""

from __future__ import annotations

import argparse
import subprocess
import sys

from deepset_cloud import cli

from ._helpers import run


def _subparsers(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    (action,) = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    return dict(action.choices)


def test_every_option_of_every_command_has_help_text() -> None:
    parser = cli.build_parser()
    commands = _subparsers(parser)
    for name, subparser in commands.items():
        if name in ("emulator", "demo"):
            continue  # their own parsers; see test_pass_through_commands_show_deepset_cloud_usages
        for action in subparser._actions:
            assert action.help, f"{name} {action.option_strings or action.dest} has no help text"


def test_the_official_clis_commands_and_options_all_exist() -> None:
    official = {
        "upload": "--api-key --api-url --workspace-name --write-mode --blocking --no-blocking --timeout-s "
        "--show-progress --no-show-progress --recursive --no-recursive --use-type --enable-parallel-processing "
        "--no-enable-parallel-processing --safe-mode --no-safe-mode",
        "download": "--workspace-name --file-dir --name --odata-filter --include-meta --no-include-meta "
        "--batch-size --api-key --api-url --show-progress --no-show-progress --safe-mode --no-safe-mode",
        "login": "",
        "logout": "",
        "list-files": "--api-key --api-url --name --odata-filter --workspace-name --batch-size --timeout-s",
        "list-upload-sessions": "--api-key --api-url --is-expired --no-is-expired --workspace-name --batch-size "
        "--timeout-s",
        "get-upload-session": "--api-key --api-url --workspace-name",
    }
    commands = _subparsers(cli.build_parser())
    for name, options in official.items():
        ours = {option for action in commands[name]._actions for option in action.option_strings}
        assert set(options.split()) <= ours, (name, set(options.split()) - ours)


def test_help_does_not_import_the_http_stack() -> None:
    code = (
        "import sys\nfrom deepset_cloud.cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
        "for name in ('upload', 'list-files'):\n"
        "    try:\n        main([name, '--help'])\n    except SystemExit:\n        pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('aiohttp', 'cattrs', 'backoff', 'tqdm')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.splitlines()[-1] == "[]"


def test_pass_through_commands_show_deepset_cloud_usages() -> None:
    for name, option in (("emulator", "--data-dir"), ("demo", "--files")):
        result = run([name, "--help"])
        assert result.returncode == 0, result.stderr
        assert result.stdout.startswith(f"usage: deepset-cloud {name} ")
        assert option in result.stdout


def test_version() -> None:
    result = run(["--version"])
    assert result.returncode == 0
    assert result.stdout.startswith("deepset-cloud ")
