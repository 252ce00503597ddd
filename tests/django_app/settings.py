"""Settings of the test Django project (no database, no migrations).

The deepset Cloud credentials are deliberately absent: the views call the sync facade without any, so it
reads `API_KEY`, `API_URL` and `DEFAULT_WORKSPACE_NAME` from the environment at call time (the tests
monkeypatch them per test, pointing at the emulator).
"""

from __future__ import annotations

from typing import Any

# The package name as pytest imported it (e.g. `django_app`), so the dotted paths below always resolve.
_PACKAGE = __package__ or "django_app"

SECRET_KEY = "django-app-tests-only-not-secret"  # a throwaway key: the test project signs nothing
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [f"{_PACKAGE}.files_app"]
MIDDLEWARE = [f"{_PACKAGE}.files_app.rendezvous.RendezvousMiddleware"]
ROOT_URLCONF = f"{_PACKAGE}.urls"
DATABASES: dict[str, Any] = {}
USE_TZ = True


def as_dict() -> dict[str, Any]:
    """Return the settings above as keyword arguments for `django.conf.settings.configure`."""
    return {name: value for name, value in globals().items() if name.isupper() and not name.startswith("_")}
