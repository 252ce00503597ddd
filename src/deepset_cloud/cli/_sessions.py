"""`list-upload-sessions` and `get-upload-session`."""

from __future__ import annotations

import argparse

from deepset_cloud.cli import _output
from deepset_cloud.cli._options import (
    EXIT_OK,
    Subparsers,
    add_command,
    add_credentials,
    add_json,
    add_timeout,
    positive_int,
    session_uuid,
    workspace,
)
from deepset_cloud.models import UploadSessionDetail

__all__ = ["register"]


def register(commands: Subparsers) -> None:
    """Add `list-upload-sessions` and `get-upload-session`."""
    listing = add_command(
        commands,
        "list-upload-sessions",
        _list_upload_sessions,
        help="list the upload sessions of a workspace",
    )
    add_credentials(listing)
    listing.add_argument(
        "--is-expired",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="only expired (--is-expired) or only unexpired (--no-is-expired) sessions (default: all)",
    )
    listing.add_argument(
        "--batch-size",
        type=positive_int,
        default=100,
        metavar="N",
        help="sessions per request (default: 100)",
    )
    add_timeout(listing, default=300, what="the whole listing")
    add_json(listing, listing=True)

    status = add_command(
        commands,
        "get-upload-session",
        _get_upload_session,
        help="show an upload session's ingestion status (finished and failed files)",
    )
    status.add_argument("session_id", type=session_uuid, metavar="SESSION_ID", help="the upload session's id")
    add_credentials(status)
    add_json(status, listing=False)


def _list_upload_sessions(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    rows = _output.Table(("SESSION_ID", "STATUS", "WRITE_MODE", "CREATED_AT", "EXPIRES_AT", "CREATED_BY"))
    pages = files.list_upload_sessions(
        api_key=args.api_key,
        api_url=args.api_url,
        workspace_name=workspace(args),
        is_expired=args.is_expired,
        batch_size=args.batch_size,
        timeout_s=args.timeout_s,
    )
    _output.print_pages(
        pages,
        as_json=args.json,
        table=rows,
        row=_session_row,
        record=_output.session_detail_json,
        noun="upload session(s)",
    )
    return EXIT_OK


def _session_row(session: UploadSessionDetail) -> tuple[str, ...]:
    creator = f"{session.created_by.given_name} {session.created_by.family_name}".strip()
    return (
        str(session.session_id),
        session.status.value,
        _output.enum_text(session.write_mode),
        session.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        session.expires_at.strftime("%Y-%m-%d %H:%M:%S"),
        creator,
    )


def _get_upload_session(args: argparse.Namespace) -> int:
    from deepset_cloud.sync_client import files

    status = files.get_upload_session(
        session_id=args.session_id, api_key=args.api_key, api_url=args.api_url, workspace_name=workspace(args)
    )
    if args.json:
        _output.print_json(_output.session_status_json(status))
        return EXIT_OK
    counts = status.ingestion_status
    print(f"Session:   {status.session_id}")
    print(f"Expires:   {status.expires_at.isoformat()}")
    print(f"Ingested:  {counts.finished_files} finished, {counts.failed_files} failed")
    print(f"Docs:      {status.documentation_url}")
    return EXIT_OK
