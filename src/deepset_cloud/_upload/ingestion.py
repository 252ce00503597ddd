"""Waiting for ingestion: poll the sessions with an adaptive interval until done or `timeout_s`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from uuid import UUID

import anyio

from deepset_cloud._progress import ProgressBar
from deepset_cloud._upload.options import UploadAPI, UploadSettings, logger
from deepset_cloud.errors import IngestionTimeoutError
from deepset_cloud.models import IngestionCounts, IngestionFailure, UploadReport

__all__ = ["failed_ingestion", "wait_for_ingestion"]

_DEFAULT_SETTINGS = UploadSettings()


async def wait_for_ingestion(
    api: UploadAPI,
    workspace: str,
    expected: Mapping[UUID, int],
    *,
    timeout_s: float | None,
    settings: UploadSettings = _DEFAULT_SETTINGS,
    show_progress: bool = False,
    upload_report: UploadReport | None = None,
) -> IngestionCounts:
    """Poll the sessions until each has processed its expected number of files.

    The wait between polls starts at `settings.poll_initial_s` and doubles up to `settings.poll_max_s`,
    so small uploads return almost at once and long ingestions cost few requests.

    Raises:
        IngestionTimeoutError: `timeout_s` passed first; carries the unfinished session ids and counts,
            and `upload_report` (what the upload phase did) when given.
    """
    pending = {session_id: count for session_id, count in expected.items() if count > 0}
    counts: dict[UUID, tuple[int, int]] = dict.fromkeys(expected, (0, 0))
    total = sum(expected.values())
    deadline = None if timeout_s is None else anyio.current_time() + timeout_s
    interval = settings.poll_initial_s
    with ProgressBar(enabled=show_progress and total > 0, total=total, description="Ingestion") as bar:
        while pending:
            for session_id in list(pending):
                status = (await api.get_upload_session(workspace, session_id)).ingestion_status
                counts[session_id] = (status.finished_files, status.failed_files)
                if status.finished_files + status.failed_files >= pending[session_id]:
                    del pending[session_id]
            finished, failed = _totals(counts)
            bar.advance_to(finished + failed)
            if not pending:
                break
            now = anyio.current_time()
            if deadline is not None and timeout_s is not None and now >= deadline:
                raise IngestionTimeoutError(
                    f"ingestion did not finish within {timeout_s} s: {finished + failed} of {total} file(s) "
                    f"processed; still ingesting: {', '.join(str(session_id) for session_id in pending)}",
                    timeout_s=timeout_s,
                    session_ids=tuple(pending),
                    finished_files=finished,
                    failed_files=failed,
                    expected_files=total,
                    upload_report=upload_report,
                )
            await anyio.sleep(interval if deadline is None else min(interval, deadline - now))
            interval = min(interval * 2, settings.poll_max_s)
    finished, failed = _totals(counts)
    return IngestionCounts(finished_files=finished, failed_files=failed)


def _totals(counts: Mapping[UUID, tuple[int, int]]) -> tuple[int, int]:
    """Return the finished and the failed files over all sessions."""
    return sum(done for done, _ in counts.values()), sum(failures for _, failures in counts.values())


async def failed_ingestion(
    api: UploadAPI, workspace: str, session_ids: Sequence[UUID]
) -> tuple[IngestionFailure, ...]:
    """Name each file of the sessions that failed ingestion, with the server's reason.

    Uses the session's file list (E11); where the API does not offer it, the result is empty and the
    counts in `IngestionCounts` are all there is (logged).
    """
    failures: list[IngestionFailure] = []
    for session_id in session_ids:
        files = await api.session_files(workspace, session_id, ingestion_status="FAILED")
        if files is None:
            logger.warning(
                "The API does not list the files of session %s: failed files cannot be named", session_id
            )
            return ()
        failures.extend(
            IngestionFailure(
                name=file.name, reason=file.ingestion_status_reason or "UNKNOWN_ERROR", session_id=session_id
            )
            for file in files
        )
    return tuple(failures)
