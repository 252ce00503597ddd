"""The project's ASGI entry point, as `uvicorn django_app.asgi:application` would load it.

Import it only after Django's settings are configured (the `asgi_app` fixture does).
"""

from __future__ import annotations

from django.core.asgi import get_asgi_application

from .asgi_driver import ASGIApp

application: ASGIApp = get_asgi_application()
