"""Waiting for a free upload session when many workers share an account's open-session limit."""

from __future__ import annotations

import random

import anyio

from deepset_cloud._upload.options import ForwardingUploadAPI, UploadAPI, logger
from deepset_cloud.errors import ConflictError
from deepset_cloud.models import UploadSession, WriteMode

__all__ = ["WaitForSessionSlot"]

_FIRST_DELAY_S = 0.1
_MAX_DELAY_S = 5.0


class WaitForSessionSlot(ForwardingUploadAPI):
    """The upload endpoints, except that opening a session waits while the open-session limit is reached.

    The API answers 409 to a new session while the workspace has as many open sessions as it allows;
    with N workers that is expected, not an error, so the request is repeated with jittered exponential
    backoff (a refused request created nothing, so repeating it cannot duplicate a session) until
    `wait_s` has passed.
    """

    def __init__(self, api: UploadAPI, wait_s: float) -> None:
        super().__init__(api)
        self._wait_s = wait_s

    async def create_upload_session(
        self, workspace: str, *, write_mode: WriteMode, enable_parallel_processing: bool = False
    ) -> UploadSession:
        """Open a session, waiting (up to `wait_s`) while the open-session limit is reached."""
        deadline = anyio.current_time() + self._wait_s
        delay = _FIRST_DELAY_S
        while True:
            try:
                return await self._api.create_upload_session(
                    workspace, write_mode=write_mode, enable_parallel_processing=enable_parallel_processing
                )
            except ConflictError as exc:
                wait = delay * random.uniform(0.5, 1.0)  # noqa: S311 (jitter, not cryptography)
                if anyio.current_time() + wait > deadline:
                    raise
                logger.info("No free upload session in %r (%s); retrying in %.1f s", workspace, exc, wait)
                await anyio.sleep(wait)
                delay = min(delay * 2, _MAX_DELAY_S)
