"""Development sessions: `nox -s tests`, `nox -s demo`, `nox -s lint`, `nox -s typing`, `nox -s bench`."""

from __future__ import annotations

import nox

nox.needs_version = ">=2024.10"
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typing", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")


def _groups(*names: str) -> list[str]:
    """Return the requirements of the named PEP 735 dependency groups."""
    return list(nox.project.dependency_groups(PYPROJECT, *names))


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite against the embedded emulator (and the official SDK)."""
    # `lint` (ruff): gen_sync.py formats what it generates before comparing it byte for byte.
    session.install("-e", ".[emulator]", *_groups("test", "compat", "django", "notebook", "lint"))
    session.run("python", "tools/gen_sync.py", "--check")
    session.run("pytest", *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})


@nox.session
def demo(session: nox.Session) -> None:
    """Start a local emulator and upload a generated corpus into it, with progress and a summary."""
    session.install("-e", ".[emulator]")
    session.run("python", "-m", "deepset_cloud.demo", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    session.install(*_groups("lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """Type-check src, tests, tools and this file with mypy (strict)."""
    session.install("-e", ".[emulator]", *_groups("typing", "test", "notebook"))
    session.run("mypy", *session.posargs)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the sync facade from the async sources (`-- --check` only compares)."""
    session.install("-e", ".", *_groups("lint"))
    session.run("python", "tools/gen_sync.py", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks against the emulator; they print medians and ratios measured side by side."""
    session.install("-e", ".[emulator]", *_groups("bench"))
    session.run("python", "-m", "benchmarks", *session.posargs)
