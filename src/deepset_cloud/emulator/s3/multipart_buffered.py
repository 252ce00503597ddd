"""The fast path of `multipart`: a small body read whole is parsed with `bytes.split`, in one call.

It takes only the common, well-formed case: every part's delimiter line ends right after the boundary,
every part fits its limit, every file part fits `memory_file_bytes`. Anything else (every error
included) returns None and the caller parses the same bytes with the streaming parser, so errors and
edge cases have exactly one implementation.
"""

from __future__ import annotations

from deepset_cloud.emulator.s3.multipart_headers import HEADER_CACHE, MultipartError, part_headers
from deepset_cloud.emulator.s3.multipart_types import FilePart, ParsedForm

__all__ = ["parse_buffered"]


def parse_buffered(
    body: bytes, boundary: bytes, *, max_field_bytes: int, max_parts: int, memory_file_bytes: int
) -> ParsedForm | None:
    """The form in a complete body, or None if it needs the streaming parser (see the module doc)."""
    # As in the streaming parser, every delimiter is CRLF + "--" + boundary, with a virtual CRLF in front.
    pieces = (b"\r\n" + body).split(b"\r\n--" + boundary)
    fields: list[tuple[str, str]] = []
    files: list[FilePart] = []
    fields_after_files = 0
    header_cache = HEADER_CACHE
    # pieces[0] is the preamble; a closing delimiter ("--" after the boundary) ends the form, and what
    # follows it is the epilogue, whatever it holds. No closing delimiter: a truncated body.
    for count, piece in enumerate(pieces[1:]):
        if piece.startswith(b"--"):
            return ParsedForm(fields=fields, files=files, fields_after_files=fields_after_files)
        end = piece.find(b"\r\n\r\n")
        if count >= max_parts or not piece.startswith(b"\r\n") or end < 0:
            return None
        block = piece[2:end]
        try:
            name, filename, content_type = header_cache.get(block) or part_headers(block)
        except MultipartError:
            return None
        content = piece[end + 4 :]
        if filename is None:
            if files:
                fields_after_files += 1
            if len(content) > max_field_bytes:
                return None
            try:
                fields.append((name, content.decode()))
            except UnicodeDecodeError:
                return None
        elif len(content) <= memory_file_bytes:
            files.append(FilePart(name, filename, content_type, None, len(content), content))
        else:
            return None
    return None
