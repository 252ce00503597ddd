"""What `multipart` hands out: the parsed form, its file parts, and the error for a part over its limit."""

from __future__ import annotations

from pathlib import Path

import attrs

from deepset_cloud.emulator.s3.multipart_headers import MultipartError

__all__ = ["FilePart", "ParsedForm", "PartTooLarge"]


class PartTooLarge(MultipartError):
    """A part is larger than the limit for its kind (`max_file_bytes` or `max_field_bytes`).

    Attributes:
        limit: The limit in bytes that the part exceeded.
        field_name: The form field name of the part.
        is_file: Whether the part is a file part (S3 answers `EntityTooLarge`) or a text field.
    """

    def __init__(self, message: str, limit: int, field_name: str = "", is_file: bool = True) -> None:
        super().__init__(message)
        self.limit = limit
        self.field_name = field_name
        self.is_file = is_file

    def __reduce__(self) -> tuple[type[PartTooLarge], tuple[str, int, str, bool]]:
        return (type(self), (str(self.args[0]), self.limit, self.field_name, self.is_file))


@attrs.frozen
class FilePart:
    """A file part: spooled to `path` (owned by the caller from now on), or kept in memory as `data`.

    Exactly one of `path` and `data` is set; `data` only for parts of at most `memory_file_bytes`.
    """

    field_name: str
    filename: str
    content_type: str | None
    path: Path | None
    size: int
    data: bytes | None = None


@attrs.frozen
class ParsedForm:
    """All parts of a form in body order: text fields and spooled files."""

    fields: list[tuple[str, str]]
    files: list[FilePart]
    fields_after_files: int = 0
    """Text fields that came after the first file part (S3 ignores them: the file must be last)."""
