"""A local Ray (`ray.init(num_cpus=2)`) shared by the scale-out tests; the emulator comes from the plugin."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

ray = pytest.importorskip("ray", reason="the 'ray' dependency group is needed (nox -s ray installs it)")


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """A local Ray instance with two CPUs: two write tasks run at once."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield
    finally:
        ray.shutdown()
