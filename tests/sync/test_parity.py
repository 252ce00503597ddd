"""Every public async function and method has a sync twin with the same signature (return types mapped)."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

import pytest

from deepset_cloud import AsyncClient, Client
from deepset_cloud._config import DEFAULT_WORKSPACE_NAME
from deepset_cloud.async_client import files as async_files
from deepset_cloud.sync_client import files as sync_files

ASYNC_WORDING = re.compile(r"\b(await|async|aclose|AsyncClient|asynchronous\w*|coroutines?)\b", re.IGNORECASE)
SYNC_RAISES = "\n    SyncFacadeError: called from the SDK's own event loop thread (e.g. in a callback)."
RENAMED_METHODS = {"aclose": "close", "__aenter__": "__enter__", "__aexit__": "__exit__"}


def sync_return(annotation: str) -> str:
    """The return annotation a sync twin must have, written independently of the generator."""
    generator = re.fullmatch(r"AsyncGenerator\[(.+), None\]", annotation)
    if generator:
        return f"Generator[{generator.group(1)}, None, None]"
    iterator = re.fullmatch(r"Async(Iterator|Iterable)\[(.+)\]", annotation)
    if iterator:
        return f"{iterator.group(1)}[{iterator.group(2)}]"
    annotation = re.sub(r"\bAsyncClient\b", "Client", annotation)
    assert not re.search(r"\b(Async\w*|Awaitable|Coroutine)\b", annotation), annotation
    return annotation


def is_async(function: Callable[..., Any]) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def assert_twins(async_function: Callable[..., Any], sync_function: Callable[..., Any]) -> None:
    async_signature = inspect.signature(async_function)
    sync_signature = inspect.signature(sync_function)
    assert list(sync_signature.parameters.values()) == list(async_signature.parameters.values())
    for name, parameter in async_signature.parameters.items():
        if parameter.default is DEFAULT_WORKSPACE_NAME:  # the sentinel itself, not an equal string
            assert sync_signature.parameters[name].default is DEFAULT_WORKSPACE_NAME
    assert sync_signature.return_annotation == sync_return(async_signature.return_annotation)
    assert not is_async(sync_function)
    assert inspect.isgeneratorfunction(sync_function) == inspect.isasyncgenfunction(async_function)
    assert sync_function.__doc__ or not async_function.__doc__
    if async_function.__doc__:
        assert inspect.getdoc(sync_function) is not None
        assert not ASYNC_WORDING.search(inspect.getdoc(sync_function) or "")
        sync_doc = inspect.getdoc(sync_function) or ""
        assert SYNC_RAISES in sync_doc
        if not ASYNC_WORDING.search(async_function.__doc__):
            without = sync_doc.replace(SYNC_RAISES, "").removesuffix("\n\nRaises:")  # a section it added
            assert without == (inspect.getdoc(async_function) or "")


ASYNC_FUNCTIONS = [name for name in async_files.__all__ if is_async(getattr(async_files, name))]
ASYNC_METHODS = [
    name
    for name, member in vars(AsyncClient).items()
    if callable(member) and (not name.startswith("_") or name in ("__init__", *RENAMED_METHODS))
]


def test_the_module_exports_the_same_names() -> None:
    assert sorted(sync_files.__all__) == sorted(async_files.__all__)
    assert sync_files.DEFAULT_WORKSPACE_NAME is async_files.DEFAULT_WORKSPACE_NAME
    assert (
        len(ASYNC_FUNCTIONS) == 11
    )  # the seed six, upload_bytes, download, sync, delete_files, update_file_meta


@pytest.mark.parametrize("name", ASYNC_FUNCTIONS)
def test_every_module_function_has_a_sync_twin(name: str) -> None:
    assert_twins(getattr(async_files, name), getattr(sync_files, name))


@pytest.mark.parametrize("name", ASYNC_METHODS)
def test_every_client_method_has_a_sync_twin(name: str) -> None:
    async_method = getattr(AsyncClient, name)
    sync_method = getattr(Client, RENAMED_METHODS.get(name, name))
    if name == "__init__":
        assert inspect.signature(sync_method) == inspect.signature(async_method)
    else:
        assert_twins(async_method, sync_method)


def test_the_client_has_nothing_async_left() -> None:
    public = [name for name, member in vars(Client).items() if callable(member) and not name.startswith("_")]
    assert public
    assert not [name for name in public if is_async(getattr(Client, name))]
    assert Client.__doc__ is not None
    assert not ASYNC_WORDING.search(Client.__doc__)
