"""`tools/_gen_functions.py`: module functions written from a client class's methods."""

from __future__ import annotations

import inspect
import sys
from pathlib import Path
from typing import Any

import pytest

from deepset_cloud import AsyncClient
from deepset_cloud.async_client import files

TOOLS = Path(__file__).resolve().parents[2] / "tools"

CLIENT = '''
from collections.abc import AsyncGenerator

from pkg.config import DEFAULT_WS


class Client:
    """A client."""

    async def aclose(self) -> None:
        """Close."""

    async def fetch(self, key: str, *, workspace_name: str = DEFAULT_WS, limit: int = 3) -> list[str]:
        """Fetch things.

        Args:
            key: what to fetch.
            workspace_name: where (default: the client's default workspace).
            limit: how many.

        Returns:
            Things.
        """
        return []

    async def pages(self, *, size: int = 10, tail: bool = False) -> AsyncGenerator[list[int], None]:
        """Page through.

        Args:
            size: per page.
            tail: from the end.
        """
        yield []

    async def _private(self) -> None:
        """Not an operation."""
'''


@pytest.fixture
def generate(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.syspath_prepend(str(TOOLS))
    module = __import__("_gen_functions")
    yield module.generate_functions
    for name in ("_gen_functions", "_gen_sync_translate"):
        sys.modules.pop(name, None)


def run(generate: Any, source: str = CLIENT, **options: Any) -> str:
    used: dict[str, int] = {}
    text: str = generate(
        "pkg.client",
        "Client",
        source,
        docstring="Functions.",
        wording=options.get("wording", [(r"the client's default workspace", "the setting")]),
        credentials_after=options.get("credentials_after", {}),
        used=used,
    )
    return text


def test_credentials_come_after_the_positional_parameters_and_are_documented(generate: Any) -> None:
    text = run(generate)
    assert (
        "async def fetch(key: str, api_key: str | None = None, api_url: str | None = None, "
        "workspace_name: str = DEFAULT_WS, limit: int = 3) -> list[str]:"
    ) in text
    assert (
        "return await cached_client(api_key, api_url).fetch(key, workspace_name=workspace_name, limit=limit)"
        in text
    )
    assert "        key: what to fetch.\n        api_key: the deepset Cloud API key" in text
    assert "workspace_name: where (default: the setting)." in text
    assert "from pkg.config import DEFAULT_WS" in text
    assert "aclose" not in text
    assert "_private" not in text
    assert '__all__ = ["DEFAULT_WORKSPACE_NAME", "fetch", "pages"]' in text


def test_generators_are_forwarded_page_by_page_and_closed(generate: Any) -> None:
    text = run(generate)
    assert "pages = cached_client(api_key, api_url).pages(size=size, tail=tail)" in text
    assert "async with aclosing(pages):" in text


def test_credentials_can_follow_a_named_parameter(generate: Any) -> None:
    text = run(generate, credentials_after={"pages": "size"})
    assert (
        "def pages(size: int = 10, api_key: str | None = None, api_url: str | None = None, tail: bool" in text
    )
    assert "        size: per page.\n        api_key:" in text


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("key: str, *,", "key: str = 'x', *,", "positional parameters with defaults"),
        (
            '        """Page through.',
            '        """Page through.\n\n        Nothing else.\n        """\n        """',
            "Args",
        ),
        ("limit: int = 3", "limit: int", "needs a default"),
        ("DEFAULT_WS, limit", "MYSTERY, limit", "cannot tell where 'MYSTERY' comes from"),
    ],
)
def test_what_cannot_be_forwarded_fails_loudly(generate: Any, old: str, new: str, message: str) -> None:
    assert old in CLIENT
    generation_error = sys.modules["_gen_sync_translate"].GenerationError
    with pytest.raises(generation_error, match=message):
        run(generate, CLIENT.replace(old, new))


def test_the_module_functions_are_the_client_methods_plus_credentials() -> None:
    methods = {
        name
        for name, member in inspect.getmembers(AsyncClient, inspect.isfunction)
        if not name.startswith("_") and name != "aclose"
    } | {
        name
        for name, member in inspect.getmembers(AsyncClient, inspect.isasyncgenfunction)
        if not name.startswith("_")
    }
    assert set(files.__all__) == methods | {"DEFAULT_WORKSPACE_NAME"}
    for name in methods:
        function_params = inspect.signature(getattr(files, name)).parameters
        method_params = inspect.signature(getattr(AsyncClient, name)).parameters
        assert set(function_params) == (set(method_params) - {"self"}) | {"api_key", "api_url"}
        for param in method_params.values():
            if param.name != "self":
                assert function_params[param.name].default == param.default
                assert function_params[param.name].annotation == param.annotation
        method_doc = inspect.getdoc(getattr(AsyncClient, name)) or ""
        function_doc = inspect.getdoc(getattr(files, name)) or ""
        assert method_doc.splitlines()[0] == function_doc.splitlines()[0]
