"""Benchmarks of the SDK and the emulator; run them with `python -m benchmarks` (see `__main__`)."""

from __future__ import annotations
