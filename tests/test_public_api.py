"""The curated public surface: `__all__` is complete and sorted, and no dependency type leaks into it."""

from __future__ import annotations

import inspect
import subprocess
import sys
import typing

import pytest

import deepset_cloud
from deepset_cloud import async_client
from deepset_cloud.sync_client import files as sync_files

# The seed API (shared/seed/async_client_reference.md): names, parameter order and defaults.
SEED_PARAMETERS = {
    "list_files": ["api_key", "api_url", "workspace_name", "name", "content", "odata_filter", "batch_size", "timeout_s"],
    "list_upload_sessions": ["api_key", "api_url", "workspace_name", "is_expired", "batch_size", "timeout_s"],
    "get_upload_session": ["session_id", "api_key", "api_url", "workspace_name"],
    "upload_file_paths": [
        "file_paths", "api_key", "api_url", "workspace_name", "write_mode", "blocking", "timeout_s", "show_progress",
    ],
    "upload": [
        "paths", "api_key", "api_url", "workspace_name", "write_mode", "blocking", "timeout_s", "show_progress",
        "recursive",
    ],
    "upload_texts": [
        "files", "api_key", "api_url", "workspace_name", "write_mode", "blocking", "timeout_s", "show_progress",
    ],
}  # fmt: skip
SEED_DEFAULTS = {
    "batch_size": 100,
    "timeout_s": 300,
    "blocking": True,
    "show_progress": True,
    "recursive": False,
}


def test_all_is_sorted_and_matches_the_public_names() -> None:
    names = [name for name in deepset_cloud.__all__ if name != "__version__"]
    assert names == sorted(names)
    # `annotations` is the `from __future__ import annotations` feature flag, not an export.
    public = {name for name in dir(deepset_cloud) if not name.startswith("_")} - {
        "annotations",
        "TYPE_CHECKING",
    }
    modules = {name for name in public if inspect.ismodule(getattr(deepset_cloud, name))}
    assert public - modules == set(names)


@pytest.mark.parametrize("name", sorted(deepset_cloud.__all__))
def test_every_public_name_imports(name: str) -> None:
    assert getattr(deepset_cloud, name) is not None


@pytest.mark.parametrize("module", [async_client.files, sync_files], ids=["async", "sync"])
@pytest.mark.parametrize("function_name", sorted(SEED_PARAMETERS))
def test_seed_functions_keep_names_order_and_defaults(module: object, function_name: str) -> None:
    signature = inspect.signature(getattr(module, function_name))
    leading = list(signature.parameters)[: len(SEED_PARAMETERS[function_name])]
    assert leading == SEED_PARAMETERS[function_name]
    for parameter in signature.parameters.values():
        if parameter.name in SEED_DEFAULTS and parameter.name in SEED_PARAMETERS[function_name]:
            assert parameter.default == SEED_DEFAULTS[parameter.name], parameter
        if parameter.name in ("api_key", "api_url"):
            assert parameter.default is None
        if parameter.name == "workspace_name":
            assert parameter.default is deepset_cloud.DEFAULT_WORKSPACE_NAME
        if parameter.name == "write_mode":
            assert parameter.default is deepset_cloud.WriteMode.KEEP


def _public_callables() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for module in (async_client.files, sync_files):
        found.extend(
            (f"{module.__name__}.{name}", getattr(module, name))
            for name in module.__all__
            if callable(getattr(module, name))
        )
    for cls in (deepset_cloud.AsyncClient, deepset_cloud.Client):
        found.extend(
            (f"{cls.__name__}.{name}", member)
            for name, member in vars(cls).items()
            if callable(member)
            and (not name.startswith("_") or name in ("__init__", "__aenter__", "__enter__"))
        )
    return found


@pytest.mark.parametrize(("qualname", "function"), _public_callables(), ids=lambda value: str(value)[:60])
def test_no_dependency_type_leaks_into_public_signatures(qualname: str, function: typing.Any) -> None:
    hints = typing.get_type_hints(function)
    for hint in hints.values():
        text = repr(hint)
        assert "aiohttp" not in text, (qualname, text)
        assert "cattrs" not in text, (qualname, text)


def test_importing_the_package_and_its_pytest_plugin_does_not_load_the_http_stack() -> None:
    # The pytest plugin is loaded by every pytest run once the package is installed: keep it cheap.
    code = (
        "import sys, deepset_cloud, deepset_cloud.testing; "
        "heavy = sorted(m for m in ('aiohttp', 'cattrs', 'backoff', 'anyio') if m in sys.modules); "
        "print(','.join(heavy)); deepset_cloud.AsyncClient; print('aiohttp' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    heavy_modules_loaded, http_stack_after_first_use = result.stdout.splitlines()
    assert heavy_modules_loaded == ""
    assert http_stack_after_first_use == "True"


def test_the_version_constant_is_the_installed_distribution_version() -> None:
    import importlib.metadata

    assert deepset_cloud.__version__ == importlib.metadata.version("deepset-cloud")


def test_imports_stay_cheap_for_the_sync_facade_and_the_cli_help() -> None:
    # importlib.metadata costs ~100 ms to import; `deepset-cloud --help` never needs the HTTP stack.
    code = (
        "import contextlib, io, sys\n"
        "import deepset_cloud.cli as cli\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):\n"
        "    cli.main(['--help'])\n"
        "print('aiohttp' in sys.modules, 'importlib.metadata' in sys.modules)\n"
        "import deepset_cloud.sync_client\n"
        "print('importlib.metadata' in sys.modules)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.split() == ["False", "False", "False"]
