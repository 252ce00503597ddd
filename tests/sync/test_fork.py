"""Fork safety of the sync facade against the emulator: the parent keeps working after its children exit.

A forked child inherits the parent's loop object, aiohttp sessions and sockets, and shares the parent's
epoll instance: a child that closes (or finalizes) an inherited transport unregisters the parent's socket
from it, and the parent's next call never returns. Each scenario runs in a fresh interpreter with a
deadline (`run_script`), so a hang fails the test instead of blocking the suite.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from ._scripts import FORK_OK, run_script

if TYPE_CHECKING:
    from deepset_cloud.emulator import ThreadedEmulator

# Shared head of the scenarios: credentials from argv, helpers that touch the API and the storage.
_HEAD = """
import os
import sys
from deepset_cloud import Client, DeepsetCloudFile
from deepset_cloud.sync_client import files

api_key, api_url, workspace = sys.argv[1:4]
credentials = {"api_key": api_key, "api_url": api_url, "workspace_name": workspace}

def upload(name):
    report = files.upload_texts([DeepsetCloudFile(text=name, name=name)], show_progress=False, **credentials)
    return report.successful_upload_count

def names():
    return sorted(file.name for page in files.list_files(**credentials) for file in page)
"""


def _run(emulator: ThreadedEmulator, workspace: str, body: str) -> list[str]:
    # Warnings are shown ("always"): an inherited session finalized in a child ("Unclosed client
    # session", ResourceWarning) reaches stderr and fails the test.
    finished = run_script(_HEAD + body, emulator.api_key, emulator.api_url, workspace, warnings=FORK_OK)
    assert (finished.returncode, finished.stderr) == (0, "")
    return finished.stdout


@pytest.mark.parametrize("calls_before_fork", [1, 5])
def test_raw_fork_child_exits_through_interpreter_shutdown_and_the_parent_keeps_working(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str, calls_before_fork: int
) -> None:
    stdout = _run(
        deepset_emulator,
        deepset_workspace,
        f"""
for i in range({calls_before_fork}):
    upload(f"parent-{{i}}.txt")
for round in range(3):
    pid = os.fork()
    if pid == 0:
        # The child uses the facade, then leaves through sys.exit: atexit, module teardown, GC.
        print("child", round, upload(f"child-{{round}}.txt"), flush=True)
        sys.exit(0)
    print("child exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
    print("parent", round, upload(f"after-{{round}}.txt"), len(names()), flush=True)
""",
    )
    expected = []
    for round_ in range(3):
        stored_before = calls_before_fork + 2 * round_
        expected += [
            f"child {round_} 1",
            "child exit 0",
            f"parent {round_} 1 {stored_before + 2}",
        ]
    assert stdout == expected


def test_a_child_that_falls_off_the_end_of_the_program_leaves_the_parent_working(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    # The program's end (not sys.exit) in the child: the interpreter finalizes everything it holds,
    # including a `Client` the parent created and used.
    stdout = _run(
        deepset_emulator,
        deepset_workspace,
        """
client = Client(api_key, api_url, workspace)
client.upload_texts([DeepsetCloudFile(text="p", name="p.txt")], show_progress=False)
pid = os.fork()
if pid != 0:
    print("child exit", os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]), flush=True)
    print("parent", sorted(f.name for page in client.list_files() for f in page), flush=True)
    client.close()
else:
    print("child", sorted(f.name for page in client.list_files() for f in page), flush=True)
""",
    )
    assert stdout == ["child ['p.txt']", "child exit 0", "parent ['p.txt']"]


def test_a_fork_pool_after_many_calls_leaves_the_parent_working(
    deepset_emulator: ThreadedEmulator, deepset_workspace: str
) -> None:
    stdout = _run(
        deepset_emulator,
        deepset_workspace,
        """
import multiprocessing

def work(index):
    return upload(f"worker-{index}.txt")

for i in range(3):
    upload(f"parent-{i}.txt")
context = multiprocessing.get_context("fork")
with context.Pool(2) as pool:
    print(sum(pool.map(work, range(6))), flush=True)
    pool.close()
    pool.join()
print(len(names()), upload("last.txt"), len(names()), flush=True)
""",
    )
    assert stdout == ["6", "9 1 10"]
