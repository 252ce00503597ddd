"""Run benchmark modules: `python -m benchmarks [--list] [NAME ...] [-- ARGS ...]`.

A benchmark is a module in this package that exposes `main(argv: list[str]) -> int`. Modules are found
two ways: every `bench_*.py` file in this folder, plus the names in `REGISTRY` (for modules whose name
does not start with `bench_`). Add a benchmark by dropping a `bench_<topic>.py` file here, or by adding
its module name to `REGISTRY`.

Without NAMEs every benchmark runs, one after the other; NAMEs select some (with or without the
`bench_` prefix). Arguments after `--` go to every selected benchmark's `main`. The exit code is the
first non-zero exit code of a benchmark, else 0.

Benchmarks never run in the test session; each should finish in about 30 s on a 2-core machine.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

# Benchmark modules whose names do not follow the `bench_*.py` pattern.
REGISTRY: tuple[str, ...] = ("emulator_s3_posts",)


def discover() -> list[str]:
    """Names of all benchmark modules: `bench_*.py` in this folder plus `REGISTRY`, sorted."""
    found = {path.stem for path in Path(__file__).parent.glob("bench_*.py")}
    return sorted(found | set(REGISTRY))


def _select(available: list[str], wanted: Sequence[str]) -> list[str]:
    if not wanted:
        return available
    chosen = []
    for name in wanted:
        for candidate in (name, f"bench_{name}"):
            if candidate in available:
                chosen.append(candidate)
                break
        else:
            raise SystemExit(f"unknown benchmark {name!r}; available: {', '.join(available)}")
    return chosen


def main(argv: Sequence[str] | None = None) -> int:
    """Run the selected benchmarks; return the first non-zero exit code, else 0."""
    args = list(sys.argv[1:] if argv is None else argv)
    passthrough: list[str] = []
    if "--" in args:
        cut = args.index("--")
        args, passthrough = args[:cut], args[cut + 1 :]
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", metavar="NAME", help="benchmarks to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    options = parser.parse_args(args)
    available = discover()
    if options.list:
        print("\n".join(available))
        return 0
    status = 0
    for name in _select(available, options.names):
        print(f"== benchmarks.{name} {' '.join(passthrough)}".rstrip(), flush=True)
        module = importlib.import_module(f"benchmarks.{name}")
        run = cast(Callable[[list[str]], int], module.main)
        code = run(list(passthrough))
        status = status or code
    return status


if __name__ == "__main__":
    raise SystemExit(main())
