"""The sync facade's hop to its loop thread and back, alone: `python -m benchmarks portal_hop [-- --calls N]`.

Runs `deepset_cloud._portal.run` on an empty coroutine `--calls` times with the process pinned to one core
(as the matrix pins its clients, so the caller and the loop thread share it) and prints the median time per
call, the process CPU per call and the context switches per call (voluntary: a thread blocked;
involuntary: a woken thread took the core from a running one). No network: this is the facade's own
cost, which a sync call pays on top of the async one.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Sequence


async def _empty() -> int:
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks portal_hop")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--core", type=int, default=None, help="the core to pin to (default: the last one)")
    args = parser.parse_args(argv)
    core = args.core if args.core is not None else max(os.sched_getaffinity(0))
    os.sched_setaffinity(0, {core})

    from deepset_cloud import _portal

    for _ in range(100):  # start the loop thread, warm up
        _portal.run(_empty)
    times = []
    before = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(args.calls):
        started = time.perf_counter()
        _portal.run(_empty)
        times.append(time.perf_counter() - started)
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    print(
        f"portal hop, {args.calls} calls on core {core}: median {statistics.median(times) * 1e6:.1f} us/call, "
        f"CPU {cpu / args.calls * 1e6:.1f} us/call, context switches per call: "
        f"{(after.ru_nvcsw - before.ru_nvcsw) / args.calls:.1f} voluntary, "
        f"{(after.ru_nivcsw - before.ru_nivcsw) / args.calls:.1f} involuntary"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
