"""The emulator's clock: everything that expires or is stamped reads time through a `Clock`.

`SystemClock` is the wall clock. `ManualClock` only moves when told to, so tests make sessions and
presigned policies expire by advancing it instead of sleeping:

```python
clock = ManualClock()
emulator = Emulator.start_in_thread(EmulatorConfig(data_dir=tmp, session_ttl_s=60), clock=clock)
clock.advance(61)  # every session created before is now expired
```
Delays that only pace background work (the ingestion delay, the expiry sweep's period) stay on the event
loop's own timers.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "as_datetime"]


class Clock(Protocol):
    """A source of the current time in integer microseconds since the epoch (UTC)."""

    def now_us(self) -> int:
        """The current time in microseconds since the epoch."""
        ...


class SystemClock:
    """The wall clock."""

    def now_us(self) -> int:
        """The current time in microseconds since the epoch."""
        return time.time_ns() // 1000

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that stands still until `advance` moves it; safe to move from any thread.

    Args:
        start_us: The initial time; default: the wall clock's time now (so signed policies and
            timestamps look current).
    """

    def __init__(self, start_us: int | None = None) -> None:
        self._lock = threading.Lock()
        self._now_us = SystemClock().now_us() if start_us is None else start_us

    def now_us(self) -> int:
        """The clock's current time in microseconds since the epoch."""
        with self._lock:
            return self._now_us

    def advance(self, seconds: float) -> None:
        """Move the clock forward by `seconds` (>= 0)."""
        if seconds < 0:
            raise ValueError("a clock only moves forward")
        with self._lock:
            self._now_us += round(seconds * 1_000_000)

    def __repr__(self) -> str:
        return f"ManualClock(start_us={self.now_us()})"


def as_datetime(us: int) -> datetime:
    """Microseconds since the epoch as an aware UTC datetime."""
    return datetime.fromtimestamp(us / 1_000_000, tz=timezone.utc)
