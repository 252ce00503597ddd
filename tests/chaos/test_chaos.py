"""The small chaos variant of the regular suite: 200 files with sidecars under the storage fault mix.

`nox -s chaos` runs the full one (10 seeds of 2,000 files, plus SIGKILL-and-restart runs of the emulator).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from .chaos_run import run_chaos

pytestmark = [pytest.mark.anyio, pytest.mark.slow]


@pytest.mark.parametrize("seed", [101, 102])
async def test_nothing_lost_duplicated_or_falsely_failed_under_storage_faults(
    seed: int, tmp_path: Path
) -> None:
    figures = await run_chaos(seed, 200, tmp_path)

    print(figures.line())
    assert figures.faults_injected > 0
    assert figures.error is None
    assert (figures.stored, figures.lost, figures.duplicated) == (200, 0, 0)
    assert (figures.false_failures, figures.wrong_meta, figures.reported_failed) == (0, 0, 0)


async def test_nothing_lost_when_the_emulator_is_killed_and_restarted(tmp_path: Path) -> None:
    figures = await run_chaos(103, 300, tmp_path, kill_every_s=0.4, ingestion_timeout_s=60)

    print(figures.line())
    assert figures.kills > 0
    assert figures.error is None
    assert (figures.stored, figures.lost, figures.duplicated) == (300, 0, 0)
    assert (figures.false_failures, figures.wrong_meta) == (0, 0)
