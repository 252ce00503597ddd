"""Upload settings: concurrency and retry resolution (pure)."""

from __future__ import annotations

import pytest

from deepset_cloud._retry import RetryPolicy
from deepset_cloud._upload.options import resolve_concurrency, resolve_retry
from deepset_cloud._upload.pipeline import UploadSettings

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def test_default_concurrency_is_32_storage_posts_and_10_api_requests() -> None:
    assert resolve_concurrency(UploadSettings(), safe_mode=False) == 32
    assert resolve_concurrency(UploadSettings(), safe_mode=False, to_api=True) == 10


@pytest.mark.parametrize("variable", PROXY_VARS)
def test_a_proxy_for_the_api_lowers_concurrency_to_four(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "http://proxy:3128")
    scheme = "http" if variable.lower() == "http_proxy" else "https"
    target = f"{scheme}://api.cloud.deepset.ai/api/v1"
    assert resolve_concurrency(UploadSettings(), safe_mode=False, target_url=target) == 4
    assert resolve_concurrency(UploadSettings(), safe_mode=False, target_url=target, to_api=True) == 4
    # Unknown target (e.g. a pipeline driven without a client): no proxy is assumed.
    assert resolve_concurrency(UploadSettings(), safe_mode=False) == 32


def test_blank_proxy_variable_is_ignored(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "  ")
    target = "https://api.cloud.deepset.ai/api/v1"
    assert resolve_concurrency(UploadSettings(), safe_mode=False, target_url=target) == 32


def test_explicit_concurrency_wins_and_safe_mode_wins_over_it() -> None:
    assert resolve_concurrency(UploadSettings(s3_concurrency=32), safe_mode=False) == 32
    assert resolve_concurrency(UploadSettings(s3_concurrency=32), safe_mode=True) == 1


def test_safe_mode_retries_more() -> None:
    assert resolve_retry(UploadSettings(), safe_mode=False) == RetryPolicy()
    assert resolve_retry(UploadSettings(), safe_mode=True).max_tries == 10
    generous = RetryPolicy(max_tries=20)
    assert resolve_retry(UploadSettings(retry=generous), safe_mode=True) is generous


@pytest.mark.parametrize(
    "changes",
    [{"s3_concurrency": 0}, {"max_files_per_session": 1}, {"max_open_sessions": 0}, {"poll_initial_s": 0}],
)
def test_invalid_settings_are_refused(changes: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        UploadSettings(**changes)  # type: ignore[arg-type]
