"""The public surface of the async core: exports, parity of client methods and module functions, typing."""

from __future__ import annotations

import inspect
import logging
import typing

import deepset_cloud
from deepset_cloud import AsyncClient
from deepset_cloud.async_client import files

OPERATIONS = (
    "list_files",
    "list_upload_sessions",
    "get_upload_session",
    "upload",
    "upload_file_paths",
    "upload_texts",
    "upload_bytes",
    "download",
    "sync",
    "delete_files",
    "update_file_meta",
)


def test_root_exports_are_sorted_and_importable() -> None:
    assert deepset_cloud.__all__ == sorted(deepset_cloud.__all__)
    for name in ("AsyncClient", "DEFAULT_WORKSPACE_NAME", "DownloadReport", "FailedDownload", "RetryPolicy"):
        assert name in deepset_cloud.__all__
    for name in deepset_cloud.__all__:
        assert getattr(deepset_cloud, name) is not None
    assert files.__all__ == sorted(files.__all__)
    assert set(files.__all__) == {*OPERATIONS, "DEFAULT_WORKSPACE_NAME"}


def test_client_methods_mirror_module_functions_without_credentials() -> None:
    for name in OPERATIONS:
        function = inspect.signature(getattr(files, name)).parameters
        method = inspect.signature(getattr(AsyncClient, name)).parameters
        expected = {key: p.default for key, p in function.items() if key not in ("api_key", "api_url")}
        actual = {key: p.default for key, p in method.items() if key != "self"}
        assert actual == expected, name
        # Everything after the first required argument is keyword-only on the client.
        kinds = [
            p.kind for key, p in method.items() if key != "self" and p.default is not inspect.Parameter.empty
        ]
        assert set(kinds) == {inspect.Parameter.KEYWORD_ONLY}, name


def test_no_aiohttp_or_cattrs_type_in_public_signatures() -> None:
    callables = [getattr(files, name) for name in OPERATIONS]
    callables += [getattr(AsyncClient, name) for name in (*OPERATIONS, "__init__", "aclose")]
    for function in callables:
        hints = typing.get_type_hints(function)
        for hint in hints.values():
            assert "aiohttp" not in repr(hint)
            assert "cattrs" not in repr(hint)


def test_docstrings_are_google_style_and_translatable_to_sync() -> None:
    for name in OPERATIONS:
        for function in (getattr(files, name), getattr(AsyncClient, name)):
            doc = inspect.getdoc(function) or ""
            assert "Args:" in doc, name
            assert "Returns:" in doc, name
            assert "Raises:" in doc, name
            words = doc.replace("async with", "").replace("async for", "").lower()
            assert "await" not in words, name
            assert "async" not in words, name


def test_library_logger_has_a_null_handler() -> None:
    assert any(isinstance(h, logging.NullHandler) for h in logging.getLogger("deepset_cloud").handlers)
