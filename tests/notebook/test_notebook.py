"""The sync facade in a real Jupyter kernel, whose cells run while the kernel's event loop is running."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

from deepset_cloud.emulator import ThreadedEmulator

CELLS = [
    """
import asyncio, json, os, warnings
warnings.simplefilter("error")  # a SyncInAsyncContextWarning would fail the cell
from deepset_cloud import DeepsetCloudFile
from deepset_cloud.sync_client import files

settings = dict(api_key=os.environ["NB_API_KEY"], api_url=os.environ["NB_API_URL"],
                workspace_name=os.environ["NB_WORKSPACE"])
asyncio.get_running_loop() is not None  # cells of this kernel run inside its event loop
""",
    """
texts = [DeepsetCloudFile(text=f"text {i}", name=f"nb-{i}.txt", meta={"cell": i % 2}) for i in range(25)]
report = files.upload_texts(texts, show_progress=False, **settings)
(report.failed_upload_count, report.ingestion.finished_files)
""",
    """
names = sorted(f.name for page in files.list_files(odata_filter="cell eq 1", batch_size=5, **settings) for f in page)
print(json.dumps(names))
""",
]


def _last_output(cell: nbformat.NotebookNode) -> str:
    output = cell.outputs[-1]
    if output.output_type == "stream":
        return str(output.text).strip()
    return str(output.data["text/plain"])


@pytest.mark.slow
def test_sync_facade_works_in_a_jupyter_kernel_without_warnings(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel process inherits this environment.
    monkeypatch.setenv("NB_API_KEY", deepset_emulator.api_key)
    monkeypatch.setenv("NB_API_URL", deepset_emulator.api_url)
    monkeypatch.setenv("NB_WORKSPACE", deepset_workspace)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=False)
    client.execute()

    loop_running, upload, listing = (_last_output(cell) for cell in notebook.cells)
    assert loop_running == "True"
    assert upload == "(0, 25)"
    assert json.loads(listing) == sorted(f"nb-{i}.txt" for i in range(1, 25, 2))
