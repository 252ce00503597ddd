"""Deleting workspace files by id with a bounded pool of workers, and choosing what `delete_files` deletes.

A failed deletion is reported with its reason and the others go on; an error that every other request
would repeat (a rejected API key, a missing permission) is raised instead.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from uuid import UUID

import anyio
import attrs

from deepset_cloud._http.api import DeepsetCloudAPI
from deepset_cloud._http.pagination import iterate_file_pages
from deepset_cloud._progress import ProgressBar
from deepset_cloud.errors import (
    AuthenticationError,
    ConfigurationError,
    DeepsetCloudError,
    NotFoundError,
    PermissionDeniedError,
)
from deepset_cloud.models import DeletedFile, DeleteReport, FailedDelete

__all__ = ["DeletionResult", "delete_by_id", "delete_files"]

_NAME_QUERIES_MAX = 20  # more names than this: one listing of the workspace instead of one per name
_LIST_BATCH_SIZE = 1_000


@attrs.define
class DeletionResult:
    """What a batch of deletions did."""

    deleted: list[DeletedFile] = attrs.Factory(list)
    failed: list[FailedDelete] = attrs.Factory(list)


async def delete_by_id(
    api: DeepsetCloudAPI,
    workspace: str,
    items: Iterable[tuple[UUID, str | None]],
    *,
    total: int,
    missing_ok: bool,
    concurrency: int,
    show_progress: bool,
) -> DeletionResult:
    """Delete (file_id, name) items, `concurrency` at a time.

    Args:
        missing_ok: count a file that is already gone as deleted (else it fails as "not found").

    Raises:
        AuthenticationError, PermissionDeniedError: the API refuses this key (the rest would fail too).
    """
    result = DeletionResult()
    pending: Iterator[tuple[UUID, str | None]] = iter(items)

    async def worker(bar: ProgressBar) -> None:
        # `next` does not await, so workers on one event loop never take the same item.
        for file_id, name in pending:
            try:
                await api.delete_file(workspace, file_id)
            except NotFoundError as exc:
                if missing_ok:
                    result.deleted.append(DeletedFile(file_id=file_id, name=name))
                else:
                    result.failed.append(
                        FailedDelete(file_id=file_id, name=name, reason=f"not found ({exc})")
                    )
            except (AuthenticationError, PermissionDeniedError):
                raise
            except DeepsetCloudError as exc:
                result.failed.append(FailedDelete(file_id=file_id, name=name, reason=str(exc)))
            else:
                result.deleted.append(DeletedFile(file_id=file_id, name=name))
            bar.advance()

    with ProgressBar(enabled=show_progress and total > 0, total=total, description="Delete") as bar:
        async with anyio.create_task_group() as group:
            for _ in range(max(1, min(concurrency, total))):
                group.start_soon(worker, bar)
    return result


async def delete_files(
    api: DeepsetCloudAPI,
    workspace: str,
    *,
    file_ids: list[UUID] | None,
    names: list[str] | None,
    odata_filter: str | None,
    dry_run: bool,
    concurrency: int,
    show_progress: bool,
) -> DeleteReport:
    """Delete the files given by id, by exact name and by OData filter (their union, each file once).

    Raises:
        ConfigurationError: nothing selects a file (deleting a whole workspace needs a filter that says so).
    """
    chosen: dict[UUID, str | None] = {}
    for file_id in file_ids or ():
        chosen.setdefault(file_id, None)
    explicit = set(chosen)
    async for file_id, name in _named(api, workspace, names or [], odata_filter):
        chosen[file_id] = name
    if dry_run:
        deleted = tuple(DeletedFile(file_id=file_id, name=name) for file_id, name in chosen.items())
        return DeleteReport(deleted=deleted, failed=(), dry_run=True)
    listed = {file_id: name for file_id, name in chosen.items() if file_id not in explicit}
    given = {file_id: chosen[file_id] for file_id in explicit}
    result = DeletionResult()
    for items, missing_ok in ((given, False), (listed, True)):
        if items:
            part = await delete_by_id(
                api,
                workspace,
                items.items(),
                total=len(items),
                missing_ok=missing_ok,
                concurrency=concurrency,
                show_progress=show_progress,
            )
            result.deleted += part.deleted
            result.failed += part.failed
    return DeleteReport(deleted=tuple(result.deleted), failed=tuple(result.failed), dry_run=False)


def check_selectors(
    file_ids: object, names: object, odata_filter: object
) -> tuple[list[UUID], list[str], str | None]:
    """Validate the selectors of `delete_files`.

    Raises:
        ConfigurationError: a selector has the wrong type, an id is not a UUID, or none selects anything.
    """
    ids: list[UUID] = []
    for value in _as_list(file_ids, "file_ids"):
        try:
            ids.append(value if isinstance(value, UUID) else UUID(str(value)))
        except ValueError as exc:
            raise ConfigurationError(f"file_ids: {value!r} is not a UUID") from exc
    name_list = _as_list(names, "names")
    bad = [name for name in name_list if not isinstance(name, str) or not name]
    if bad:
        raise ConfigurationError(f"names must be non-empty strings, got {bad[:5]!r}")
    if odata_filter is not None and (not isinstance(odata_filter, str) or not odata_filter.strip()):
        raise ConfigurationError(f"odata_filter must be a non-empty string, got {odata_filter!r}")
    if not ids and not name_list and odata_filter is None:
        raise ConfigurationError(
            "delete_files needs file_ids, names or an odata_filter: nothing was selected"
        )
    return ids, [str(name) for name in name_list], odata_filter


def _as_list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple, set, frozenset)):
        raise ConfigurationError(f"{what} must be a list, got {type(value).__name__}")
    return list(value)


async def _named(
    api: DeepsetCloudAPI, workspace: str, names: list[str], odata_filter: str | None
) -> AsyncIterator[tuple[UUID, str]]:
    """Yield (id, name) of the files with one of `names` (exactly) or matching `odata_filter`."""
    wanted = set(names)
    if len(wanted) > _NAME_QUERIES_MAX:
        async for page in iterate_file_pages(api, workspace, batch_size=_LIST_BATCH_SIZE):
            for file in page.data:
                if file.name in wanted:
                    yield file.file_id, file.name
    else:
        for name in sorted(wanted):
            # The `name` filter matches substrings: keep exact matches only.
            async for page in iterate_file_pages(api, workspace, name=name, batch_size=_LIST_BATCH_SIZE):
                for file in page.data:
                    if file.name == name:
                        yield file.file_id, file.name
    if odata_filter is not None:
        async for page in iterate_file_pages(
            api, workspace, odata_filter=odata_filter, batch_size=_LIST_BATCH_SIZE
        ):
            for file in page.data:
                yield file.file_id, file.name
