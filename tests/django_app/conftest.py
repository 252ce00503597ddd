"""Fixtures: the Django project configured once, credentials from the emulator in the environment."""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.conf import settings
from django.test import AsyncClient, Client

from deepset_cloud.emulator import ThreadedEmulator

from . import settings as project_settings
from .asgi_driver import ASGIApp


@pytest.fixture(scope="session")
def django_project() -> None:
    """Configure Django with the test project's settings and set up its app registry (once)."""
    if not settings.configured:
        settings.configure(**project_settings.as_dict())
    django.setup()


@pytest.fixture
def deepset_env(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> str:
    """Point the facade at the emulator through the environment only; return this test's workspace.

    The views pass no credentials, so every upload and listing landing in this fresh workspace shows that
    the facade reads `API_KEY`, `API_URL` and `DEFAULT_WORKSPACE_NAME` when called, not when imported.
    """
    monkeypatch.setenv("API_URL", deepset_emulator.api_url)
    monkeypatch.setenv("API_KEY", deepset_emulator.api_key)
    monkeypatch.setenv("DEFAULT_WORKSPACE_NAME", deepset_workspace)
    return deepset_workspace


@pytest.fixture
def client(django_project: None, deepset_env: str) -> Any:
    """Django's WSGI test client."""
    return Client()


@pytest.fixture
def async_client(django_project: None, deepset_env: str) -> Any:
    """Django's async test client: sync views run via `sync_to_async(thread_sensitive=True)`."""
    return AsyncClient()


@pytest.fixture
def asgi_app(django_project: None, deepset_env: str) -> ASGIApp:
    """The project's real ASGI application, as uvicorn or daphne would serve it."""
    from .asgi import application  # needs the configured settings

    return application
