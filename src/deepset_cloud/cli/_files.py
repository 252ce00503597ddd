"""`upload`, `download` and `list-files`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from deepset_cloud.cli import _output
from deepset_cloud.cli._options import (
    EXIT_FAILED,
    EXIT_OK,
    Interrupted,
    Subparsers,
    add_command,
    add_credentials,
    add_json,
    add_timeout,
    file_types,
    positive_int,
    show_progress,
    workspace,
)
from deepset_cloud.errors import DeepsetCloudError
from deepset_cloud.models import File, UploadReport, WriteMode

__all__ = ["register"]

_TOGGLE = argparse.BooleanOptionalAction


def register(commands: Subparsers) -> None:
    """Add `upload`, `download` and `list-files`."""
    upload = add_command(
        commands, "upload", _upload, help="upload files and folders (with .meta.json sidecars)"
    )
    upload.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files and folders to upload")
    add_credentials(upload)
    upload.add_argument(
        "--write-mode",
        choices=[mode.value for mode in WriteMode],
        default=WriteMode.KEEP.value,
        help="when a file of the same name exists: KEEP both, OVERWRITE it, or FAIL this file (default: KEEP)",
    )
    upload.add_argument(
        "--blocking",
        action=_TOGGLE,
        default=True,
        help="wait until the files are ingested and listed (default: --blocking)",
    )
    upload.add_argument(
        "--timeout-s",
        type=positive_int,
        default=None,
        metavar="SECONDS",
        help="the longest wait for ingestion with --blocking, in seconds (default: no limit)",
    )
    upload.add_argument(
        "--show-progress",
        action=_TOGGLE,
        default=None,
        help="show progress bars on stderr (default: when stderr is a terminal)",
    )
    upload.add_argument(
        "--recursive", action=_TOGGLE, default=False, help="also upload files in subfolders (default: no)"
    )
    upload.add_argument(
        "--use-type",
        type=file_types,
        action="extend",
        default=[],
        metavar="EXT",
        help="upload only files of this type, e.g. .txt; repeat or separate with commas "
        "(default: csv docx html json md txt pdf pptx xlsx xml)",
    )
    upload.add_argument(
        "--enable-parallel-processing",
        action=_TOGGLE,
        default=False,
        help="let deepset Cloud ingest a session's files in parallel; faster, but do not run two uploads "
        "of the same files at once (default: no)",
    )
    upload.add_argument(
        "--safe-mode",
        action=_TOGGLE,
        default=False,
        help="one request at a time with more retries, for unreliable networks (default: no)",
    )
    add_json(upload, listing=False)

    download = add_command(commands, "download", _download, help="download files and their metadata")
    add_credentials(download)
    download.add_argument(
        "--file-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder to save the files in (default: the current folder)",
    )
    download.add_argument("--name", default=None, help="only files whose name contains this text")
    download.add_argument(
        "--odata-filter",
        default=None,
        metavar="FILTER",
        help="only files whose meta match, e.g. \"category eq 'news'\"",
    )
    download.add_argument(
        "--include-meta",
        action=_TOGGLE,
        default=True,
        help="also save each file's meta as NAME.meta.json (default: --include-meta)",
    )
    download.add_argument(
        "--batch-size",
        type=positive_int,
        default=50,
        metavar="N",
        help="files listed per request (default: 50)",
    )
    download.add_argument(
        "--show-progress",
        action=_TOGGLE,
        default=None,
        help="show a progress bar on stderr (default: when stderr is a terminal)",
    )
    download.add_argument(
        "--safe-mode",
        action=_TOGGLE,
        default=False,
        help="one download at a time with more retries (default: no)",
    )
    add_timeout(download, default=None, what="the download")
    add_json(download, listing=False)

    listing = add_command(commands, "list-files", _list_files, help="list the files of a workspace")
    add_credentials(listing)
    listing.add_argument("--name", default=None, help="only files whose name contains this text")
    listing.add_argument(
        "--odata-filter",
        default=None,
        metavar="FILTER",
        help="only files whose meta match, e.g. \"category eq 'news'\"",
    )
    listing.add_argument(
        "--batch-size", type=positive_int, default=100, metavar="N", help="files per request (default: 100)"
    )
    add_timeout(listing, default=300, what="the whole listing")
    add_json(listing, listing=True)


def _upload(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    try:
        report = files.upload(
            paths=args.paths,
            api_key=args.api_key,
            api_url=args.api_url,
            workspace_name=workspace(args),
            write_mode=WriteMode(args.write_mode),
            blocking=args.blocking,
            timeout_s=args.timeout_s,
            show_progress=show_progress(args),
            recursive=args.recursive,
            desired_file_types=args.use_type or None,
            enable_parallel_processing=args.enable_parallel_processing,
            safe_mode=args.safe_mode,
        )
    except DeepsetCloudError as error:
        if error.upload_report is not None:  # what was done before the error, then the error itself
            _print_upload_report(args, error.upload_report, error=error)
        raise
    except KeyboardInterrupt as interrupt:
        partial: UploadReport | None = getattr(interrupt, "upload_report", None)
        if partial is None:
            raise Interrupted("upload interrupted before anything was uploaded") from None
        raise Interrupted(
            "upload interrupted; upload sessions were closed. "
            + " ".join(_output.upload_report_lines(partial)),
            _output.upload_report_json(partial) | {"interrupted": True},
        ) from None
    _print_upload_report(args, report)
    failed_ingestion = report.ingestion is not None and report.ingestion.failed_files > 0
    return EXIT_FAILED if report.failed_upload_count or failed_ingestion else EXIT_OK


def _print_upload_report(
    args: argparse.Namespace, report: UploadReport, *, error: DeepsetCloudError | None = None
) -> None:
    if args.json:
        document = _output.upload_report_json(report)
        if error is not None:
            document["error"] = {"type": type(error).__name__, "message": str(error)}
        _output.print_json(document)
    else:
        print("\n".join(_output.upload_report_lines(report)))


def _download(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    report = files.download(
        workspace_name=workspace(args),
        file_dir=args.file_dir,
        name=args.name,
        odata_filter=args.odata_filter,
        include_meta=args.include_meta,
        batch_size=args.batch_size,
        api_key=args.api_key,
        api_url=args.api_url,
        show_progress=show_progress(args),
        timeout_s=args.timeout_s,
        safe_mode=args.safe_mode,
    )
    if args.json:
        _output.print_json(_output.download_report_json(report))
    else:
        print(f"Downloaded {len(report.downloaded)} file(s), {len(report.failed)} failed.")
        for failure in report.failed:
            print(f"  failed: {failure.name} ({failure.file_id}): {failure.reason}")
    return EXIT_FAILED if report.failed else EXIT_OK


def _list_files(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    rows = _output.Table(("FILE_ID", "CREATED_AT", "SIZE", "NAME", "META"), right=("SIZE",))
    pages = files.list_files(
        api_key=args.api_key,
        api_url=args.api_url,
        workspace_name=workspace(args),
        name=args.name,
        odata_filter=args.odata_filter,
        batch_size=args.batch_size,
        timeout_s=args.timeout_s,
    )
    _output.print_pages(
        pages, as_json=args.json, table=rows, row=_file_row, record=_output.file_json, noun="file(s)"
    )
    return EXIT_OK


def _file_row(file: File) -> tuple[str, ...]:
    meta = json.dumps(file.meta, ensure_ascii=False, separators=(",", ":")) if file.meta else ""
    return (
        str(file.file_id),
        file.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        f"{file.size:>10}",
        file.name,
        meta,
    )
