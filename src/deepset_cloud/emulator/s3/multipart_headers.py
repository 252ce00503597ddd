"""Header syntax of `multipart/form-data` bodies for `_multipart`: the boundary, part headers, filenames.

Part header blocks are parsed with plain string operations, and their parsed form is cached (see
`part_headers`), because one client sends the same header blocks post after post.
"""

from __future__ import annotations

from urllib.parse import unquote, unquote_to_bytes

__all__ = [
    "HEADER_CACHE",
    "MultipartError",
    "boundary_from_content_type",
    "decode_filename",
    "parse_part_headers",
    "part_headers",
]

_MAX_BOUNDARY_LENGTH = 70  # RFC 2046 section 5.1.1


class MultipartError(Exception):
    """The body is not well-formed `multipart/form-data`, or breaks a limit; the message says what."""


_PLAIN_PREFIX = "multipart/form-data; boundary="


def boundary_from_content_type(content_type: str) -> bytes:
    """The boundary of a `multipart/form-data` Content-Type (quoted or not), as bytes."""
    if content_type.startswith(_PLAIN_PREFIX):  # what most clients send: no parameter syntax to parse
        boundary = content_type[len(_PLAIN_PREFIX) :]
        plain = ";" not in boundary and '"' not in boundary and " " not in boundary and "\t" not in boundary
        if plain and boundary and len(boundary) <= _MAX_BOUNDARY_LENGTH and boundary.isascii():
            return boundary.encode("ascii")
    semicolon = content_type.find(";")
    media_type = (content_type if semicolon < 0 else content_type[:semicolon]).strip().lower()
    if media_type != "multipart/form-data":
        raise MultipartError(f"expected a multipart/form-data body, got Content-Type {media_type!r}")
    params = {} if semicolon < 0 else _parse_params(content_type, semicolon + 1, "Content-Type")
    boundary = params.get("boundary", "")
    if not boundary:
        raise MultipartError("the multipart Content-Type has no boundary parameter")
    if len(boundary) > _MAX_BOUNDARY_LENGTH:
        raise MultipartError(f"the multipart boundary is longer than {_MAX_BOUNDARY_LENGTH} characters")
    try:
        return boundary.encode("ascii")
    except UnicodeEncodeError:
        raise MultipartError("the multipart boundary is not ASCII") from None


# Parts of one client repeat the same header blocks post after post (the S3 policy fields, and the file
# part except for its filename), so parsed blocks are cached: field blocks as they are, file blocks as a
# template whose filename value is replaced by a sentinel. Bounded: cleared when full.
HEADER_CACHE: dict[bytes, tuple[str, str | None, str | None]] = {}
HEADER_CACHE_SIZE = 512
_FILENAME_PARAM = b'; filename="'
_SENTINEL = "\x00"


def part_headers(block: bytes) -> tuple[str, str | None, str | None]:
    """Return (field name, decoded filename or None, Content-Type or None) of one part's header block."""
    cached = HEADER_CACHE.get(block)
    if cached is not None:
        return cached
    start = block.find(_FILENAME_PARAM) + len(_FILENAME_PARAM)
    # With an RFC 5987 `filename*` (which wins), the sentinel check below could be fooled by a `filename*`
    # that decodes to the sentinel itself: such blocks are parsed in full.
    if start >= len(_FILENAME_PARAM) and b"filename*" not in block.lower():
        end = block.find(b'"', start)
        line_end = block.find(b"\r\n", start)
        if end > 0 and (line_end < 0 or line_end > end) and block.find(b"\\", start, end) < 0:
            template = block[:start] + _SENTINEL.encode() + block[end:]
            cached = HEADER_CACHE.get(template)
            if cached is None:
                cached = _cache(template, parse_part_headers(template))
            # The sentinel coming back as the filename proves the value replaced is the one that counts.
            if cached[1] == _SENTINEL:
                return cached[0], decode_filename(block[start:end]), cached[2]
    parsed = parse_part_headers(block)
    return parsed if parsed[1] is not None else _cache(block, parsed)


def _cache(block: bytes, parsed: tuple[str, str | None, str | None]) -> tuple[str, str | None, str | None]:
    if len(HEADER_CACHE) >= HEADER_CACHE_SIZE:
        HEADER_CACHE.clear()
    HEADER_CACHE[block] = parsed
    return parsed


def decode_filename(raw: bytes | str) -> str:
    """Decode a plain `filename` value: UTF-8, percent-decoded exactly once (aiohttp sends `my%20file.txt`)."""
    try:
        if isinstance(raw, str):
            return unquote_to_bytes(raw).decode() if "%" in raw else raw
        return (unquote_to_bytes(raw) if b"%" in raw else raw).decode()
    except UnicodeDecodeError:
        raise MultipartError(f"filename {raw!r} is not valid (percent-encoded) UTF-8") from None


def parse_part_headers(block: bytes) -> tuple[str, str | None, str | None]:
    """Parse a part's header block in full (`part_headers` is the cached front end)."""
    try:
        text = block.decode()
    except UnicodeDecodeError:
        raise MultipartError("part headers are not valid UTF-8") from None
    disposition: str | None = None
    content_type: str | None = None
    for line in text.split("\r\n") if text else ():
        colon = line.find(":")
        if colon <= 0 or line[0] in " \t":
            raise MultipartError(f"malformed part header line {line[:100]!r}")
        header = line[:colon].strip().lower()
        if header == "content-disposition":
            if disposition is not None:
                raise MultipartError("part has more than one Content-Disposition header")
            disposition = line[colon + 1 :].strip()
        elif header == "content-type":
            content_type = line[colon + 1 :].strip()
    if disposition is None:
        raise MultipartError("part has no Content-Disposition header")
    semicolon = disposition.find(";")
    kind = (disposition if semicolon < 0 else disposition[:semicolon]).strip().lower()
    if kind != "form-data":
        raise MultipartError(f"part Content-Disposition is {kind!r}, expected 'form-data'")
    params = {} if semicolon < 0 else _parse_params(disposition, semicolon + 1, "Content-Disposition")
    name = _extended_param(params["name*"]) if "name*" in params else params.get("name")
    if name is None:
        raise MultipartError("part Content-Disposition has no name parameter")
    if "filename*" in params:  # RFC 5987 wins over the plain parameter
        return name, _extended_param(params["filename*"]), content_type
    filename = params.get("filename")
    return name, None if filename is None else decode_filename(filename), content_type


def _extended_param(value: str) -> str:
    """Decode an RFC 5987 `charset'language'percent-encoded` parameter value."""
    charset, quote1, rest = value.partition("'")
    _language, quote2, encoded = rest.partition("'")
    if not (quote1 and quote2):
        raise MultipartError(f"malformed RFC 5987 parameter value {value[:100]!r}")
    try:
        return unquote(encoded, encoding=charset or "utf-8", errors="strict")
    except (LookupError, UnicodeDecodeError):
        raise MultipartError(f"cannot decode RFC 5987 parameter value {value[:100]!r}") from None


def _parse_params(header: str, pos: int, header_name: str) -> dict[str, str]:
    """Parse `; key=value; key="quoted \\" value"` parameters from `pos`; keys are lower-cased."""
    params: dict[str, str] = {}
    length = len(header)
    while pos < length:
        equals = header.find("=", pos)
        if equals < 0:
            if header[pos:].strip(" \t;"):
                raise MultipartError(f"malformed {header_name} parameter {header[pos:][:100]!r}")
            break
        key = header[pos:equals].strip(" \t;").lower()
        if not key or ";" in key:
            raise MultipartError(f"malformed {header_name} parameter {header[pos:equals][:100]!r}")
        pos = equals + 1
        while pos < length and header[pos] in " \t":
            pos += 1
        if pos < length and header[pos] == '"':
            value, pos = _quoted_string(header, pos + 1, header_name)
            semicolon = header.find(";", pos)
            rest = header[pos:] if semicolon < 0 else header[pos:semicolon]
            if rest.strip(" \t"):
                raise MultipartError(f"malformed {header_name}: text after a quoted value")
        else:
            semicolon = header.find(";", pos)
            value = (header[pos:] if semicolon < 0 else header[pos:semicolon]).strip(" \t")
        if key in params:
            raise MultipartError(f"{header_name} has the parameter {key!r} twice")
        params[key] = value
        pos = length if semicolon < 0 else semicolon + 1
    return params


def _quoted_string(header: str, pos: int, header_name: str) -> tuple[str, int]:
    """Read a quoted string whose opening quote precedes `pos`; return it unescaped and the end position."""
    pieces: list[str] = []
    while True:
        quote = header.find('"', pos)
        if quote < 0:
            raise MultipartError(f"malformed {header_name}: unterminated quoted string")
        backslash = header.find("\\", pos, quote)
        if backslash < 0:
            pieces.append(header[pos:quote])
            return "".join(pieces), quote + 1
        if backslash + 1 >= len(header):
            raise MultipartError(f"malformed {header_name}: unterminated quoted string")
        pieces.append(header[pos:backslash])
        pieces.append(header[backslash + 1])  # the escaped character, possibly a quote
        pos = backslash + 2
