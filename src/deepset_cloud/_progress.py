"""Progress bars for uploads (tqdm.auto: a widget in notebooks, text in terminals).

When `show_progress` is False nothing is written to stdout or stderr: the bar is a no-op and tqdm is
not even imported.
"""

from __future__ import annotations

from types import TracebackType
from typing import Any

__all__ = ["ProgressBar"]


class ProgressBar:
    """One progress bar (over a known total, if there is one), or a silent stand-in when disabled.

    Args:
        enabled: whether to draw the bar at all.
        total: the number the bar counts up to (None: not known, the bar counts up).
        description: the label in front of the bar.
        unit: what is counted.
    """

    def __init__(self, *, enabled: bool, total: int | None, description: str, unit: str = "file") -> None:
        self._done = 0
        self._bar: Any = None
        if enabled:
            from tqdm.auto import tqdm  # imported lazily: silent uploads never pay for it

            self._bar = tqdm(total=total, desc=description, unit=unit, leave=True, dynamic_ncols=True)

    def advance(self, count: int = 1) -> None:
        """Count `count` more items as done."""
        self._done += count
        if self._bar is not None:
            self._bar.update(count)

    def advance_to(self, done: int) -> None:
        """Move the bar to an absolute count (never backwards)."""
        if done > self._done:
            self.advance(done - self._done)

    def close(self) -> None:
        """Finish the bar (idempotent)."""
        if self._bar is not None:
            self._bar.close()
            self._bar = None

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
