"""The workers' shared supply of bundles: each free worker takes the next one itself.

There is no queue between a producer and the workers (a hand-over through a memory stream costs a loop
iteration and an event per bundle, more than the rest of the session machinery together): a list or
generator of bundles is read directly, and a folder that is still being listed arrives in batches that
one worker at a time waits for. Memory is bounded by the supply (one batch), never by the file count.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Sequence

import anyio

from deepset_cloud._upload.options import Bundle

__all__ = ["BundleIntake"]


class BundleIntake:
    """Hands out the bundles of an iterable, or of an async iterable of batches, one at a time.

    Args:
        bundles: the bundles; an async iterable yields them in batches (lists of bundles).
    """

    def __init__(self, bundles: Iterable[Bundle] | AsyncIterable[Sequence[Bundle]]) -> None:
        self._batches: AsyncIterator[Sequence[Bundle]] | None = None
        self._current: Iterator[Bundle]
        if isinstance(bundles, AsyncIterable):
            self._batches = aiter(bundles)
            self._current = iter(())
        else:
            self._current = iter(bundles)
        self._refill = anyio.Lock(fast_acquire=True)  # no loop turn when no other worker waits for a batch
        self._done = False

    def next_nowait(self) -> Bundle | None:
        """The next bundle if one is at hand (no waiting), else None: then call `next`.

        Raises:
            Exception: whatever the underlying iterable raises.
        """
        return next(self._current, None)

    async def next(self) -> Bundle | None:
        """The next bundle, waiting for the next batch if need be; None once the supply is used up.

        Raises:
            Exception: whatever the underlying iterable raises (its error is not raised twice: the
                supply counts as used up afterwards).
        """
        if self._batches is None:
            return next(self._current, None)
        async with self._refill:  # one worker waits for the next batch, the others for it
            while True:
                bundle = next(self._current, None)
                if bundle is not None or self._done:
                    return bundle
                try:
                    batch = await anext(self._batches)
                except StopAsyncIteration:
                    self._done = True
                    return None
                except BaseException:
                    self._done = True
                    raise
                self._current = iter(batch)
