"""The buffered fast path of the multipart parser (`content_length=` given) against the streaming parser.

Both run on the same bytes through real `aiohttp.StreamReader`s; the fast path must give the same form or
the same error (type and message) for every body: well-formed, truncated, over a limit, or mangled.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deepset_cloud.emulator.s3 import multipart as _multipart
from deepset_cloud.emulator.s3.multipart import MultipartError, ParsedForm, parse_multipart
from deepset_cloud.emulator.s3.multipart_buffered import parse_buffered
from deepset_cloud.emulator.s3.multipart_headers import boundary_from_content_type
from tests.emulator.test_multipart import (
    BOUNDARY,
    CONTENT_TYPE,
    Case,
    ChunkedStream,
    Part,
    bodies,
    build_body,
    content_of,
    new_stream,
    split,
)

pytestmark = pytest.mark.anyio


def fed_stream(data: bytes, *, eof: bool = True) -> aiohttp.StreamReader:
    """A real StreamReader holding `data` (and its end), as aiohttp hands a request body over."""
    stream = new_stream()
    stream.feed_data(data)
    if eof:
        stream.feed_eof()
    return stream


async def outcome(body: bytes, content_type: str, *, buffered: bool, **limits: Any) -> Any:
    """What parsing gives: the form as plain data (file contents read), or the error's type and text."""
    limits.setdefault("max_file_bytes", 1 << 30)
    # The streaming parser gets the body in odd-sized chunks, the buffered one whole, with its length.
    stream = fed_stream(body) if buffered else ChunkedStream(split(body, range(0, len(body), 7)))
    extra = {"content_length": len(body)} if buffered else {}
    with tempfile.TemporaryDirectory() as folder:
        try:
            form = await parse_multipart(stream, content_type, spool_dir=folder, **limits, **extra)
        except MultipartError as exc:
            assert list(Path(folder).iterdir()) == []  # a failed parse leaves no spool file
            return type(exc), str(exc)
        files = [(f.field_name, f.filename, f.content_type, f.size, content_of(f)) for f in form.files]
        in_memory = [f.data is not None for f in form.files]
        return form.fields, files, in_memory, form.fields_after_files


async def assert_same(body: bytes, content_type: str = CONTENT_TYPE, **limits: Any) -> Any:
    streamed = await outcome(body, content_type, buffered=False, **limits)
    assert await outcome(body, content_type, buffered=True, **limits) == streamed
    return streamed


def sdk_like_body(filename: str = "report.txt", content: bytes = b"x" * 1024) -> bytes:
    fields = [Part.field(name, f"value of {name}") for name in ("key", "policy", "x-amz-signature")]
    return build_body([*fields, Part.file("file", filename, content)])


def test_a_typical_storage_post_takes_the_fast_path() -> None:
    form = parse_buffered(
        sdk_like_body(), BOUNDARY.encode(), max_field_bytes=1 << 16, max_parts=64, memory_file_bytes=1 << 16
    )
    assert isinstance(form, ParsedForm)
    assert [name for name, _ in form.fields] == ["key", "policy", "x-amz-signature"]
    [part] = form.files
    assert (part.filename, part.size, part.data, part.path) == ("report.txt", 1024, b"x" * 1024, None)


@pytest.mark.parametrize(
    ("body", "limits"),
    [
        (sdk_like_body(content=b"y" * 100), {"memory_file_bytes": 50}),  # spooled: the streaming parser
        (sdk_like_body(), {"memory_file_bytes": 1 << 16, "max_parts": 3}),
        (sdk_like_body(), {"memory_file_bytes": 1 << 16, "max_field_bytes": 5}),
        (sdk_like_body(), {"memory_file_bytes": 1 << 16, "max_file_bytes": 1000}),
        (sdk_like_body().replace(b"--\r\n", b"  \r\n"), {}),  # no closing delimiter: truncated
        (build_body([Part.field("k", "v")], padding=b" "), {}),  # transport padding
        (build_body([Part.field("k", b"\xff")]), {}),  # a field that is not UTF-8
        (build_body([Part(("Content-Disposition: attachment",), b"v")]), {}),
        (b"", {}),
        (b"--" + BOUNDARY.encode() + b"--", {}),
    ],
)
async def test_unusual_bodies_give_what_the_streaming_parser_gives(
    body: bytes, limits: dict[str, int]
) -> None:
    await assert_same(body, CONTENT_TYPE, **limits)


async def test_a_body_longer_than_the_buffered_limit_streams(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_multipart, "BUFFERED_BODY_BYTES", 100)
    called: list[bytes] = []
    monkeypatch.setattr(_multipart, "parse_buffered", lambda body, *a, **k: called.append(body))
    _fields, files, _in_memory, _after = await assert_same(sdk_like_body(), memory_file_bytes=1 << 16)
    assert called == []
    assert files[0][4] == b"x" * 1024


async def test_a_body_shorter_than_its_content_length_is_truncated() -> None:
    body = sdk_like_body()
    with tempfile.TemporaryDirectory() as folder, pytest.raises(MultipartError, match="truncated"):
        await parse_multipart(
            fed_stream(body[:-10]),
            CONTENT_TYPE,
            spool_dir=folder,
            max_file_bytes=1 << 20,
            memory_file_bytes=1 << 16,
            content_length=len(body),
        )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    case=bodies(),
    memory_file_bytes=st.sampled_from([0, 1, 20, 1 << 20]),
    max_parts=st.sampled_from([2, 64]),
    max_field_bytes=st.sampled_from([3, 1 << 20]),
)
async def test_random_bodies_parse_alike(
    case: Case, memory_file_bytes: int, max_parts: int, max_field_bytes: int
) -> None:
    await assert_same(
        case.body,
        case.content_type,
        memory_file_bytes=memory_file_bytes,
        max_parts=max_parts,
        max_field_bytes=max_field_bytes,
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies(), data=st.data())
async def test_truncated_and_mangled_bodies_fail_alike(case: Case, data: st.DataObject) -> None:
    body = case.body[: data.draw(st.integers(min_value=0, max_value=len(case.body)), label="length")]
    if body and data.draw(st.booleans(), label="mangle"):
        at = data.draw(st.integers(min_value=0, max_value=len(body) - 1), label="at")
        junk = data.draw(st.sampled_from([b"\r\n", b"--", b"\r\n\r\n", b"x", b"\xff", b""]), label="junk")
        body = body[:at] + junk + body[at + 1 :]
    await assert_same(body, case.content_type, memory_file_bytes=1 << 20)


@pytest.mark.parametrize(
    "parameter",
    ["abc", "a b", "a\tb", "a;b", '"quoted"', "abc ", "", "x" * 70, "x" * 71, "ä", "abc; charset=x", "a=b"],
)
def test_the_plain_boundary_shortcut_agrees_with_the_full_parse(parameter: str) -> None:
    def result(content_type: str) -> object:
        try:
            return boundary_from_content_type(content_type)
        except MultipartError as exc:
            return str(exc)

    # The same header with a second parameter in front never takes the shortcut.
    expected = result(f"multipart/form-data; lead=1; boundary={parameter}")
    assert result(f"multipart/form-data; boundary={parameter}") == expected
