"""Bulk metadata updates (`POST files/update-meta`) in batches, each file's outcome reported."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any
from uuid import UUID

from deepset_cloud._corpus.meta import CONTENT_HASH_KEY
from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._progress import ProgressBar
from deepset_cloud.errors import (
    AuthenticationError,
    ConfigurationError,
    DeepsetCloudError,
    PermissionDeniedError,
)
from deepset_cloud.models import FailedMetaUpdate

__all__ = ["META_BATCH_SIZE", "check_meta_by_file_id", "update_meta_batches"]

META_BATCH_SIZE = 100
"""Files per update-meta request."""


def check_meta_by_file_id(meta_by_file_id: object) -> dict[UUID, dict[str, Any]]:
    """Validate the argument of `update_file_meta`; ids become UUIDs.

    Raises:
        ConfigurationError: not a dict of UUID -> JSON-serialisable dict, or a dict sets the reserved key.
    """
    import json

    if meta_by_file_id is None:
        raise ConfigurationError("meta_by_file_id is required: {file_id: {key: value}}")
    if not isinstance(meta_by_file_id, dict):
        raise ConfigurationError(f"meta_by_file_id must be a dict, got {type(meta_by_file_id).__name__}")
    checked: dict[UUID, dict[str, Any]] = {}
    for key, meta in meta_by_file_id.items():
        try:
            file_id = key if isinstance(key, UUID) else UUID(str(key))
        except ValueError as exc:
            raise ConfigurationError(f"meta_by_file_id: {key!r} is not a file id (a UUID)") from exc
        if not isinstance(meta, dict) or not all(isinstance(name, str) for name in meta):
            raise ConfigurationError(f"meta_by_file_id[{key!r}] must be a dict with string keys")
        if CONTENT_HASH_KEY in meta:
            raise ConfigurationError(
                f"meta_by_file_id[{key!r}]: the key {CONTENT_HASH_KEY!r} is reserved by sync"
            )
        try:
            json.dumps(meta)
        except (TypeError, ValueError) as exc:
            raise ConfigurationError(f"meta_by_file_id[{key!r}] is not JSON-serialisable: {exc}") from exc
        checked[file_id] = meta
    return checked


async def update_meta_batches(
    api: DeepsetCloudAPI,
    workspace: str,
    patches: Iterable[tuple[UUID, dict[str, Any]]],
    *,
    total: int,
    show_progress: bool,
) -> tuple[int, list[FailedMetaUpdate]]:
    """Send the patches in batches; return how many files were updated and every failure.

    A batch the API refuses as a whole fails each of its files with the error; a rejected API key or
    missing permission is raised (every batch would fail the same way).
    """
    updated = 0
    failed: list[FailedMetaUpdate] = []
    with ProgressBar(enabled=show_progress and total > 0, total=total, description="Update meta") as bar:
        for batch in _chunks(patches):
            body = {str(file_id): patch for file_id, patch in batch}
            try:
                batch_failed = await api.update_file_meta(workspace, body)
            except (AuthenticationError, PermissionDeniedError):
                raise
            except DeepsetCloudError as exc:
                batch_failed = [
                    FailedMetaUpdate(file_id=file_id, error_type=type(exc).__name__, error_message=str(exc))
                    for file_id, _ in batch
                ]
            updated += len(batch) - len(batch_failed)
            failed += batch_failed
            bar.advance(len(batch))
    return updated, failed


def _chunks(patches: Iterable[tuple[UUID, dict[str, Any]]]) -> Iterator[list[tuple[UUID, dict[str, Any]]]]:
    iterator = iter(patches)
    while batch := list(islice(iterator, META_BATCH_SIZE)):
        yield batch
