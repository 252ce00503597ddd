"""What the command line prints: tables for people, JSON documents and JSON lines for programs.

The JSON field names are part of the command line's interface (README, "JSON output"): add fields, never
rename or remove one.
"""

from __future__ import annotations

import contextlib
import enum
import json
import shutil
import sys
from collections.abc import Callable, Generator, Iterable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from deepset_cloud.cli._options import Interrupted
from deepset_cloud.models import (
    DownloadReport,
    File,
    UploadReport,
    UploadSessionDetail,
    UploadSessionStatus,
)

__all__ = [
    "download_report_json",
    "enum_text",
    "file_json",
    "print_json",
    "print_json_line",
    "session_detail_json",
    "session_status_json",
    "stdout_is_terminal",
    "Table",
    "upload_report_json",
    "upload_report_lines",
]


def stdout_is_terminal() -> bool:
    """Whether a person is likely reading stdout (tables get a width limit and footers)."""
    return sys.stdout.isatty()


def enum_text(value: enum.Enum | str) -> str:
    """The wire value of an enum member, or the text of a value this SDK does not know yet."""
    return str(value.value) if isinstance(value, enum.Enum) else value


def _timestamp(value: datetime) -> str:
    return value.isoformat()


def print_json(document: object) -> None:
    """Print one JSON document (reports, a session's status)."""
    print(json.dumps(document, indent=2, ensure_ascii=False))


def print_json_line(record: object) -> None:
    """Print one record of a listing as a JSON line (flushed, so a pipe sees it at once)."""
    print(json.dumps(record, ensure_ascii=False, separators=(",", ":")), flush=True)


class Table:
    """Aligned columns under a header, streamed page by page: columns only ever widen, so pages line up."""

    def __init__(self, headers: Sequence[str], *, right: Sequence[str] = ()) -> None:
        self._headers = list(headers)
        self._right = {index for index, header in enumerate(headers) if header in right}
        self._widths = [len(header) for header in headers]
        self._header_done = False

    def lines(self, rows: Iterable[Sequence[str]]) -> list[str]:
        """The lines for these rows, led by the header the first time; cut at a terminal's width."""
        materialised = [list(row) for row in rows]
        for row in materialised:
            self._widths = [max(width, len(cell)) for width, cell in zip(self._widths, row, strict=True)]
        if not self._header_done:
            materialised.insert(0, self._headers)
            self._header_done = True
        lines = [self._line(row) for row in materialised]
        if stdout_is_terminal():
            limit = shutil.get_terminal_size().columns
            lines = [line if len(line) <= limit else line[: max(limit - 1, 1)] + "…" for line in lines]
        return lines

    def _line(self, row: Sequence[str]) -> str:
        cells = [
            cell.rjust(width) if index in self._right else cell.ljust(width)
            for index, (cell, width) in enumerate(zip(row, self._widths, strict=True))
        ]
        return "  ".join(cells).rstrip()


T = TypeVar("T")


def print_pages(
    pages: Generator[list[T], None, None],
    *,
    as_json: bool,
    table: Table,
    row: Callable[[T], tuple[str, ...]],
    record: Callable[[T], dict[str, Any]],
    noun: str,
) -> int:
    """Print a listing page by page (a table, or JSON lines) as it arrives; return how many items it had.

    The generator is closed however printing ends (Ctrl-C, a closed pipe), so its requests stop too.

    Raises:
        Interrupted: Ctrl-C; the message says how many `noun` were listed before it.
    """
    listed = 0
    try:
        with contextlib.closing(pages):
            for page in pages:
                if as_json:
                    for item in page:
                        print_json_line(record(item))
                elif page:
                    print("\n".join(table.lines(row(item) for item in page)), flush=True)
                listed += len(page)
    except KeyboardInterrupt:
        raise Interrupted(f"listing interrupted after {listed} {noun}") from None
    if not as_json and stdout_is_terminal():
        print(f"{listed} {noun}.", file=sys.stderr)
    return listed


def file_json(file: File) -> dict[str, Any]:
    """A listed file: `file_id`, `name`, `size`, `created_at` (ISO 8601), `meta`, `url`."""
    return {
        "file_id": str(file.file_id),
        "name": file.name,
        "size": file.size,
        "created_at": _timestamp(file.created_at),
        "meta": file.meta,
        "url": file.url,
    }


def session_detail_json(session: UploadSessionDetail) -> dict[str, Any]:
    """A listed upload session: ids, status, write mode, times and who created it."""
    return {
        "session_id": str(session.session_id),
        "status": session.status.value,
        "write_mode": enum_text(session.write_mode),
        "created_at": _timestamp(session.created_at),
        "expires_at": _timestamp(session.expires_at),
        "created_by": {
            "user_id": str(session.created_by.user_id),
            "given_name": session.created_by.given_name,
            "family_name": session.created_by.family_name,
        },
    }


def session_status_json(status: UploadSessionStatus) -> dict[str, Any]:
    """One session's ingestion status, with the same fields as the official CLI prints."""
    return {
        "session_id": str(status.session_id),
        "expires_at": _timestamp(status.expires_at),
        "documentation_url": status.documentation_url,
        "ingestion_status": {
            "failed_files": status.ingestion_status.failed_files,
            "finished_files": status.ingestion_status.finished_files,
        },
    }


def upload_report_json(report: UploadReport) -> dict[str, Any]:
    """An upload report as one JSON document (see README, "JSON output")."""
    ingestion = report.ingestion
    return {
        "total_files": report.total_files,
        "successful_upload_count": report.successful_upload_count,
        "failed_upload_count": report.failed_upload_count,
        "failed": [
            {
                "file_name": result.file_name,
                "error_type": type(result.exception).__name__ if result.exception else None,
                "reason": str(result.exception) if result.exception else "",
            }
            for result in report.failed
        ],
        "skipped": [{"path": str(item.path), "reason": item.reason} for item in report.skipped],
        "session_ids": [str(session_id) for session_id in report.session_ids],
        "ingestion": None
        if ingestion is None
        else {
            "finished_files": ingestion.finished_files,
            "failed_files": ingestion.failed_files,
        },
        "failed_ingestion": [
            {"file_name": item.name, "reason": item.reason, "session_id": str(item.session_id)}
            for item in report.failed_ingestion
        ],
    }


def upload_report_lines(report: UploadReport) -> list[str]:
    """An upload report for people: counts first, then every failure by name with its reason."""
    lines = [
        f"Uploaded {report.successful_upload_count} of {report.total_files} objects "
        f"({report.failed_upload_count} failed, {len(report.skipped)} skipped).",
    ]
    if report.session_ids:
        lines.append(f"Upload sessions: {', '.join(str(session_id) for session_id in report.session_ids)}")
    if report.ingestion is not None:
        lines.append(
            f"Ingested: {report.ingestion.finished_files} finished, {report.ingestion.failed_files} failed."
        )
    lines += [f"  failed: {result.file_name}: {result.exception}" for result in report.failed]
    lines += [f"  skipped: {item.path}: {item.reason}" for item in report.skipped]
    lines += [f"  failed ingestion: {item.name}: {item.reason}" for item in report.failed_ingestion]
    unnamed = 0 if report.ingestion is None else report.ingestion.failed_files - len(report.failed_ingestion)
    if unnamed > 0:  # the server did not list them (its per-file status is not available)
        lines.append(
            f"  {unnamed} more file(s) failed ingestion; "
            "`deepset-cloud get-upload-session SESSION_ID` shows each session's counts."
        )
    return lines


def download_report_json(report: DownloadReport) -> dict[str, Any]:
    """A download report: the paths written and the files that failed, with reasons."""
    return {
        "downloaded": [str(path) for path in report.downloaded],
        "failed": [
            {"file_id": str(item.file_id), "name": item.name, "reason": item.reason} for item in report.failed
        ],
    }
