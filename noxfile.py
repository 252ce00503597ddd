"""Development sessions (`python -m nox -l` lists them; `.ci/run` runs what CI runs).

Every session works with the plain `venv` backend and the pip that each Python's venv bundles (23.x on
3.10-3.12), and uses `uv` when it is on PATH. The dependency groups never name the project itself: pip
before 25.1 would look `deepset-cloud[emulator]` up on the package index. `_install` installs the project
from this checkout and then the groups' requirements, in one pip call.

A new session: decorate a function with `@nox.session`, call `_install(session, "group", ...)` and
`_pytest(session, "tests/dir")` (or `session.run(...)`), and add it to `.ci/run` if CI should run it.
"""

from __future__ import annotations

import glob
import os
import shutil

import nox

nox.needs_version = ">=2024.10"
nox.options.default_venv_backend = "uv|venv"
nox.options.reuse_existing_virtualenvs = True
nox.options.sessions = ["lint", "typing", "tests"]

PYPROJECT = nox.project.load_toml("pyproject.toml")
# Every supported Python, lowest first (the classifiers in pyproject.toml say the same).
PYTHONS = nox.project.python_versions(PYPROJECT)
# Suites with heavy dependencies of their own: `tests` leaves them out, each has a session of that name.
SEPARATE_SUITES = {
    "compat": "tests/compat",
    "django": "tests/django_app",
    "notebook": "tests/notebook",
    "s3": "tests/sources",
    "ray": "tests/integrations",
}
FAST_SUITE = [f"--ignore={path}" for path in SEPARATE_SUITES.values()]
# What the suite needs besides the project: ruff too, since the generator's tests format their output.
TEST_GROUPS = ("test", "lint")


def _groups(*names: str) -> list[str]:
    """Return the requirements of the named PEP 735 dependency groups."""
    return list(nox.project.dependency_groups(PYPROJECT, *names))


EDITABLE = ("-e", ".[emulator]")


def _install(session: nox.Session, *groups: str, project: tuple[str, ...] = EDITABLE) -> None:
    """Install this checkout (editable, with the emulator by default) and the named dependency groups."""
    session.install(*project, *_groups(*groups))


def _pytest(session: nox.Session, *args: str) -> None:
    """Run pytest with the session's extra arguments (`nox -s tests -- -x -k upload`)."""
    session.run("pytest", *args, *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})


@nox.session
def tests(session: nox.Session) -> None:
    """Run the test suite against the embedded emulator (without the suites that have sessions of their own)."""
    _install(session, *TEST_GROUPS)
    session.run("python", "-m", "tools.gen_sync", "--check")
    _pytest(session, *FAST_SUITE)


@nox.session(python=PYTHONS)
def matrix(session: nox.Session) -> None:
    """Run the test suite on one supported Python (`nox -s matrix-3.10`; all found: `nox -s matrix`)."""
    _install(session, *TEST_GROUPS)
    _pytest(session, *FAST_SUITE)


@nox.session(python=PYTHONS[0])
def lowest(session: nox.Session) -> None:
    """Run the test suite with the lowest versions of the direct dependencies that pyproject.toml allows."""
    # pip has no "lowest" resolution; uv (installed into this session's venv) has.
    session.install("uv")
    # The system's trust store, as pip uses it: uv's own roots refuse a proxy whose CA only the system
    # trusts, unless SSL_CERT_FILE happens to be set (UV_NATIVE_TLS is the older uv's name for it).
    certs = {"UV_SYSTEM_CERTS": "1", "UV_NATIVE_TLS": "1"}
    session.run("uv", "pip", "install", "--resolution", "lowest-direct", *EDITABLE, env=certs)
    _install(session, *TEST_GROUPS, project=())
    session.run("uv", "pip", "list", silent=False)  # the versions this run tested
    _pytest(session, *FAST_SUITE)


@nox.session
def compat(session: nox.Session) -> None:
    """Drive the official deepset-cloud-sdk, unchanged, against the emulator."""
    _install(session, "test", "compat")
    _pytest(session, SEPARATE_SUITES["compat"])


@nox.session
def django(session: nox.Session) -> None:
    """Call the sync facade from the views of a real Django project (WSGI and ASGI)."""
    _install(session, "test", "django")
    _pytest(session, SEPARATE_SUITES["django"])


@nox.session
def notebook(session: nox.Session) -> None:
    """Run the sync facade in a real Jupyter kernel, whose cells run inside the kernel's event loop."""
    _install(session, "test", "notebook")
    _pytest(session, SEPARATE_SUITES["notebook"])


@nox.session(reuse_venv=False)
def wheel(session: nox.Session) -> None:
    """Build the sdist and from it the wheel, install the wheel as users do, smoke-test it against the emulator."""
    dist = os.path.abspath(os.path.join(session.create_tmp(), "dist"))
    shutil.rmtree(dist, ignore_errors=True)
    session.install("build")
    session.run("python", "-m", "build", "--outdir", dist)
    (wheel_file,) = glob.glob(os.path.join(dist, "*.whl"))
    smoke = os.path.abspath("tools/smoke_wheel.py")
    session.chdir(dist)  # nothing of the checkout is importable from here
    # First without the extra: every way to start the emulator says in one line which extra is missing.
    session.install(wheel_file)
    session.run("python", smoke, "--without-emulator-extra")
    session.install(f"{wheel_file}[emulator]")
    session.run("python", smoke)


@nox.session
def s3(session: nox.Session) -> None:
    """Upload from object storage: a real S3 emulator (moto's server) through s3fs, and fsspec's memory fs."""
    _install(session, "test", "s3", project=("-e", ".[emulator,s3]"))
    _pytest(session, SEPARATE_SUITES["s3"])


@nox.session
def ray(session: nox.Session) -> None:
    """The Ray Data sink on a local Ray (`ray.init(num_cpus=2)`) and the Dask recipe on a LocalCluster."""
    _install(session, "test", "s3", "ray", project=("-e", ".[emulator,s3,ray]"))
    _pytest(session, SEPARATE_SUITES["ray"])


@nox.session
def demo(session: nox.Session) -> None:
    """Start a local emulator and upload a generated corpus into it, with progress and a summary."""
    _install(session)
    session.run("python", "-m", "deepset_cloud.demo", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """Check style and formatting with ruff."""
    _install(session, "lint", project=())
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typing(session: nox.Session) -> None:
    """Type-check src, tests, tools, benchmarks and this file with mypy (strict)."""
    _install(session, "typing", "test", "notebook")
    session.run("mypy", *session.posargs)


@nox.session
def generate(session: nox.Session) -> None:
    """Regenerate the sync facade from the async sources (`-- --check` only compares)."""
    _install(session, "lint", project=("-e", "."))
    session.run("python", "-m", "tools.gen_sync", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Print the benchmark matrix (`-- --quick` for a small one; see benchmarks/README.md)."""
    _install(session, "bench")
    session.run("python", "-m", "benchmarks.bench_matrix", *session.posargs)


@nox.session
def chaos(session: nox.Session) -> None:
    """Upload 10 seeded corpora of 2,000 files with sidecars through storage faults, plus runs that SIGKILL
    and restart the emulator; print the figures and fail on any lost, duplicated or falsely failed file."""
    _install(session)
    session.run("python", "tests/chaos/chaos_run.py", *session.posargs, env={"PYTHONDONTWRITEBYTECODE": "1"})
