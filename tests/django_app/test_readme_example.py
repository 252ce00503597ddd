"""The README's Django view example (examples/django_view.py) runs as written, in its own process."""

from __future__ import annotations

import sys
from pathlib import Path

from deepset_cloud.emulator import ThreadedEmulator
from deepset_cloud.sync_client import files
from tests.examples.test_examples import EXAMPLES, example_env, run_example


def test_the_django_view_example_stores_a_note(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, tmp_path: Path
) -> None:
    env = example_env(deepset_emulator, deepset_workspace, tmp_path / "home")
    out = run_example([sys.executable, str(EXAMPLES / "django_view.py")], env, tmp_path).stdout
    assert out.splitlines() == ["200 {'uploaded': 1, 'failed': 0}"]
    listed = files.list_files(
        api_key=deepset_emulator.api_key, api_url=deepset_emulator.api_url, workspace_name=deepset_workspace
    )
    assert [(file.name, file.meta) for page in listed for file in page] == [
        ("from-django.txt", {"source": "django"})
    ]
