"""Posting one bundle (sidecar first, then its file) and settling what failed, exactly once.

A transient failure is not final at once: the session path re-queues it once at the end of its session
(`Failure.transient`), and an ambiguous one (no answer arrived, so the object may be stored) is checked
against the session's file list before it is reported. Only then is a failure settled: counted in the
tally with its error (and, for a sidecar, its file too, since a file is never stored without the
metadata it was meant to have).
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import attrs

from deepset_cloud._fileio import LocalPath
from deepset_cloud._progress import ProgressBar
from deepset_cloud._upload.options import Bundle, UploadObject, UploadTally
from deepset_cloud._upload.sources import RemoteObject
from deepset_cloud.errors import DeepsetCloudError, UploadError

__all__ = ["BundlePoster", "Failure", "ObjectPoster"]


class ObjectPoster(Protocol):
    """Stores one object (a session's `PresignedPost`)."""

    async def upload(self, name: str, source: bytes | str | Path | LocalPath | RemoteObject) -> None: ...


@attrs.frozen(slots=True)
class Failure:
    """What is left of a bundle after a failed post: the rest to post, the object that failed, why."""

    rest: Bundle
    item: UploadObject
    error: DeepsetCloudError

    @property
    def transient(self) -> bool:
        """Whether posting again may succeed (throttling, 5xx, a broken connection, a lost answer)."""
        return self.error.is_retryable

    @property
    def ambiguous(self) -> bool:
        """Whether the object may be stored although the post failed: no answer arrived."""
        return isinstance(self.error, UploadError) and self.error.status_code is None and self.transient

    @property
    def is_file(self) -> bool:
        """Whether the failed object is the bundle's file (not its sidecar)."""
        return self.item is self.rest.file


@attrs.define
class BundlePoster:
    """Posts bundles and counts every object once: a success when stored, a failure when settled."""

    tally: UploadTally
    progress: ProgressBar

    async def post(self, poster: ObjectPoster, bundle: Bundle) -> Failure | None:
        """Post the bundle's sidecar, then its file; return what failed (not counted yet), or None."""
        # The posts are inlined, not a helper coroutine: one coroutine level less per post resumption.
        sidecar = bundle.sidecar
        if sidecar is not None:
            try:
                await poster.upload(sidecar.name, sidecar.payload())
            except DeepsetCloudError as exc:
                return Failure(bundle, sidecar, exc)
            self.tally.success()
            self.progress.advance()
        file = bundle.file
        try:
            await poster.upload(file.name, file.payload())
        except DeepsetCloudError as exc:
            return Failure(bundle if sidecar is None else Bundle(file=file), file, exc)
        self.tally.success()
        self.progress.advance()
        return None

    def stored(self, failure: Failure) -> None:
        """Count a failed file as stored after all (the session lists it: only the answer was lost)."""
        self.tally.success()
        self.progress.advance()

    def settle(self, failure: Failure) -> None:
        """Count a failure as final, with its file if the failed object was the file's metadata."""
        self.tally.failure(failure.item.name, failure.error)
        self.progress.advance()
        if not failure.is_file:
            file = failure.rest.file
            error = UploadError(
                f"{file.name!r} was not uploaded because its metadata {failure.item.name!r} failed",
                file_name=file.name,
            )
            self.tally.failure(file.name, error)
            self.progress.advance()
