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


# The S3 emulator (moto's server) of the object-storage suite, for sinks that stream rows from a bucket.
from tests.sources.conftest import bucket, moto_endpoint, s3_options  # noqa: E402

__all__ = ["bucket", "local_ray", "moto_endpoint", "s3_options"]
