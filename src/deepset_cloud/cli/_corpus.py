"""`sync` (a workspace follows a local corpus) and `delete-files`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

import attrs

from deepset_cloud.cli import _output
from deepset_cloud.cli._options import (
    EXIT_FAILED,
    EXIT_OK,
    EXIT_USAGE,
    Subparsers,
    add_command,
    add_credentials,
    add_json,
    file_types,
    positive_int,
    show_progress,
    workspace,
)
from deepset_cloud.models import DeleteReport, SyncReport

__all__ = ["register"]

_TOGGLE = argparse.BooleanOptionalAction
_SHOWN = 20  # files named before a confirmation prompt


def register(commands: Subparsers) -> None:
    """Add `sync` and `delete-files`."""
    sync = add_command(
        commands,
        "sync",
        _sync,
        help="make a workspace follow local files and folders (upload, update, delete)",
    )
    sync.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files and folders to sync")
    add_credentials(sync)
    sync.add_argument("--recursive", action=_TOGGLE, default=False, help="include subfolders (default: no)")
    sync.add_argument(
        "--use-type",
        type=file_types,
        action="extend",
        default=[],
        metavar="EXT",
        help="sync only files of this type, e.g. .txt; repeat or separate with commas",
    )
    sync.add_argument(
        "--delete", action="store_true", help="delete workspace files that no longer exist locally"
    )
    sync.add_argument(
        "--max-delete",
        type=_max_delete,
        default=0.5,
        metavar="N|P%",
        help="with --delete, refuse to delete more than N files or P%% of the workspace (default: 50%%)",
    )
    sync.add_argument(
        "--relative-names",
        action="store_true",
        help="name files by their path below the folder given (sub/a.txt) instead of their base name",
    )
    sync.add_argument("--dry-run", action="store_true", help="change nothing; show what would be done")
    sync.add_argument(
        "--blocking", action=_TOGGLE, default=True, help="wait until uploads are ingested (default: yes)"
    )
    sync.add_argument(
        "--timeout-s",
        type=positive_int,
        default=None,
        metavar="SECONDS",
        help="the longest wait for ingestion with --blocking (default: no limit)",
    )
    sync.add_argument(
        "--show-progress",
        action=_TOGGLE,
        default=None,
        help="show progress bars on stderr (default: when stderr is a terminal)",
    )
    add_json(sync, listing=False)

    delete = add_command(
        commands, "delete-files", _delete_files, help="delete files by id, name or metadata filter"
    )
    add_credentials(delete)
    delete.add_argument(
        "--file-id", type=_file_id, action="append", default=[], metavar="ID", help="a file id (repeat)"
    )
    delete.add_argument(
        "--name",
        action="append",
        default=[],
        metavar="NAME",
        help="every file with exactly this name (repeat)",
    )
    delete.add_argument(
        "--odata-filter", default=None, metavar="FILTER", help='files whose meta match, e.g. "year lt 2020"'
    )
    delete.add_argument("--dry-run", action="store_true", help="only list the files that would be deleted")
    delete.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    add_json(delete, listing=False)


def _max_delete(text: str) -> int | float:
    """An argparse type: a count (`100`) or a percentage of the workspace (`30%`)."""
    try:
        if text.endswith("%"):
            share = float(text[:-1]) / 100
            if not 0.0 <= share <= 1.0:
                raise ValueError(text)
            return share
        count = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a count or a percentage from 0% to 100%: {text!r}") from None
    if count < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return count


def _file_id(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a file id (a UUID): {text!r}") from None


def _sync(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    report = files.sync(
        args.paths,
        api_key=args.api_key,
        api_url=args.api_url,
        workspace_name=workspace(args),
        recursive=args.recursive,
        desired_file_types=args.use_type or None,
        delete=args.delete,
        dry_run=args.dry_run,
        blocking=args.blocking,
        timeout_s=args.timeout_s,
        show_progress=show_progress(args),
        max_delete=args.max_delete,
        relative_names=args.relative_names,
    )
    if args.json:
        _output.print_json(sync_report_json(report))
    else:
        print("\n".join(sync_report_lines(report)))
    return EXIT_FAILED if report.failed else EXIT_OK


def sync_report_json(report: SyncReport) -> dict[str, Any]:
    """The JSON document of a sync report (`planned` only for a dry run)."""
    document: dict[str, Any] = {
        "dry_run": report.dry_run,
        "uploaded": report.uploaded,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "deleted": report.deleted,
        "failed": [{"name": item.name, "reason": item.reason} for item in report.failed],
        "skipped": [{"path": str(item.path), "reason": item.reason} for item in report.skipped],
        "deletion_skipped": report.deletion_skipped,
        "session_ids": [str(session_id) for session_id in report.session_ids],
    }
    if report.dry_run:
        document["planned"] = [
            {
                "action": change.action,
                "name": change.name,
                "path": None if change.path is None else str(change.path),
                "file_id": None if change.file_id is None else str(change.file_id),
            }
            for change in report.planned
        ]
        document["planned_omitted"] = report.planned_omitted
    return document


def sync_report_lines(report: SyncReport) -> list[str]:
    """A human summary of a sync report."""
    counts = f"{report.unchanged} unchanged, {len(report.failed)} failed, {len(report.skipped)} skipped."
    if report.dry_run:
        head = (
            f"Would upload {report.uploaded} new, update {report.updated}, delete {report.deleted}; {counts}"
        )
    else:
        head = f"Uploaded {report.uploaded} new, updated {report.updated}, deleted {report.deleted}; {counts}"
    lines = [head]
    lines += [f"  {change.action}: {change.name}" for change in report.planned]
    if report.planned_omitted:
        lines.append(f"  ... and {report.planned_omitted} more change(s)")
    lines += [f"  failed: {item.name}: {item.reason}" for item in report.failed]
    lines += [f"  skipped: {item.path}: {item.reason}" for item in report.skipped]
    if report.deletion_skipped:
        lines.append(f"  no deletion: {report.deletion_skipped}")
    return lines


def _delete_files(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    options: dict[str, Any] = {
        "workspace_name": workspace(args),
        "api_key": args.api_key,
        "api_url": args.api_url,
        "show_progress": False,
    }
    selected = files.delete_files(
        file_ids=args.file_id or None,
        names=args.name or None,
        odata_filter=args.odata_filter,
        dry_run=True,
        **options,
    )
    if args.dry_run or not selected.deleted:
        _print_delete_report(args, selected)
        return EXIT_OK
    if not args.yes:
        if not sys.stdin.isatty():
            print("error: refusing to delete without --yes when stdin is not a terminal", file=sys.stderr)
            return EXIT_USAGE
        if not _confirm(selected, workspace(args)):
            print("Nothing deleted.", file=sys.stderr)
            return EXIT_OK
    # Delete exactly what was shown (and confirmed): by id.
    report = files.delete_files(file_ids=[item.file_id for item in selected.deleted], **options)
    names = {item.file_id: item.name for item in selected.deleted}
    report = attrs.evolve(
        report,
        deleted=tuple(attrs.evolve(item, name=names.get(item.file_id)) for item in report.deleted),
        failed=tuple(attrs.evolve(item, name=names.get(item.file_id)) for item in report.failed),
    )
    _print_delete_report(args, report)
    return EXIT_FAILED if report.failed else EXIT_OK


def _confirm(selected: DeleteReport, workspace_name: str) -> bool:
    for item in selected.deleted[:_SHOWN]:
        print(f"  {item.file_id}  {item.name or ''}", file=sys.stderr)
    if len(selected.deleted) > _SHOWN:
        print(f"  ... and {len(selected.deleted) - _SHOWN} more", file=sys.stderr)
    answer = input(f"Delete {len(selected.deleted)} file(s) from {workspace_name!r}? [y/N] ")
    return answer.strip().lower() in ("y", "yes")


def _print_delete_report(args: argparse.Namespace, report: DeleteReport) -> None:
    if args.json:
        _output.print_json(
            {
                "dry_run": report.dry_run,
                "deleted": [{"file_id": str(item.file_id), "name": item.name} for item in report.deleted],
                "failed": [
                    {"file_id": str(item.file_id), "name": item.name, "reason": item.reason}
                    for item in report.failed
                ],
            }
        )
        return
    verb = "Would delete" if report.dry_run else "Deleted"
    print(f"{verb} {len(report.deleted)} file(s), {len(report.failed)} failed.")
    if report.dry_run:
        for item in report.deleted:
            print(f"  {item.file_id}  {item.name or ''}")
    for failure in report.failed:
        print(f"  failed: {failure.name or failure.file_id}: {failure.reason}")
