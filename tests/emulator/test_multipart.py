"""Tests of the emulator's streaming multipart parser (`deepset_cloud.emulator.s3.multipart`).

Bodies are fed through real `aiohttp.StreamReader`s, split at chosen (or Hypothesis-chosen) chunk
boundaries, and through a real aiohttp.web server on loopback that receives real aiohttp client forms.
"""

from __future__ import annotations

import asyncio
import io
import os
import pickle
import tempfile
import tracemalloc
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp
import anyio
import attrs
import pytest
from aiohttp import web
from aiohttp.base_protocol import BaseProtocol
from hypothesis import HealthCheck, assume, given, settings, strategies as st

from deepset_cloud.emulator.s3 import multipart_headers as _multipart_headers
from deepset_cloud.emulator.s3.multipart import (
    FilePart,
    MultipartError,
    ParsedForm,
    PartTooLarge,
    parse_multipart,
)

pytestmark = pytest.mark.anyio

BOUNDARY = "b0undary-X"
CONTENT_TYPE = f"multipart/form-data; boundary={BOUNDARY}"


class OpenProtocol(BaseProtocol):
    """A protocol that counts as connected without a transport, so a StreamReader may wait for data."""

    @property
    def connected(self) -> bool:
        return True


def new_stream() -> aiohttp.StreamReader:
    loop = asyncio.get_running_loop()
    return aiohttp.StreamReader(OpenProtocol(loop), 2**16, loop=loop)


class ChunkedStream(aiohttp.StreamReader):
    """A real StreamReader that receives the next chunk only when the reader has drained the last one.

    That keeps the chunk boundaries exactly as given (a pre-fed StreamReader joins its chunks).
    """

    def __init__(self, chunks: Iterable[bytes]) -> None:
        loop = asyncio.get_running_loop()
        super().__init__(BaseProtocol(loop), 2**16, loop=loop)
        self._pending: Iterator[bytes] = iter(chunks)
        self.chunks_read = 0

    def _feed_next(self) -> None:
        if self.is_eof():
            return
        for chunk in self._pending:
            if chunk:
                self.feed_data(chunk)
                return
        self.feed_eof()

    async def readany(self) -> bytes:
        self._feed_next()
        data = await super().readany()
        self.chunks_read += bool(data)
        return data

    def at_eof(self) -> bool:
        if not self.is_eof() and not self._buffer:
            self._feed_next()
        return super().at_eof()


def split(body: bytes, cuts: Iterable[int]) -> list[bytes]:
    points = sorted({c for c in cuts if 0 < c < len(body)})
    return [body[a:b] for a, b in zip([0, *points], [*points, len(body)], strict=True)]


@attrs.frozen
class Part:
    """A part to put into a test body."""

    headers: tuple[str, ...]
    content: bytes

    @classmethod
    def field(cls, name: str, value: str | bytes) -> Part:
        data = value.encode() if isinstance(value, str) else value
        return cls((f'Content-Disposition: form-data; name="{name}"',), data)

    @classmethod
    def file(cls, name: str, filename: str, content: bytes, content_type: str | None = "text/plain") -> Part:
        headers = [f'Content-Disposition: form-data; name="{name}"; filename="{quote(filename, safe="")}"']
        if content_type is not None:
            headers.insert(0, f"Content-Type: {content_type}")
        return cls(tuple(headers), content)


def build_body(
    parts: Sequence[Part],
    boundary: str = BOUNDARY,
    *,
    preamble: bytes = b"",
    epilogue: bytes = b"\r\n",
    padding: bytes = b"",
) -> bytes:
    out = [preamble + b"\r\n" if preamble else b""]
    for part in parts:
        out.append(f"--{boundary}".encode() + padding + b"\r\n")
        out.extend(h.encode() + b"\r\n" for h in part.headers)
        out.append(b"\r\n" + part.content + b"\r\n")
    out.append(f"--{boundary}--".encode() + epilogue)
    return b"".join(out)


async def parse(
    body: bytes | Iterable[bytes],
    spool: Path,
    content_type: str = CONTENT_TYPE,
    **limits: Any,
) -> ParsedForm:
    chunks = [body] if isinstance(body, bytes) else body
    limits.setdefault("max_file_bytes", 1 << 30)
    return await parse_multipart(ChunkedStream(chunks), content_type, spool_dir=spool, **limits)


def spooled(spool: Path) -> list[Path]:
    return sorted(spool.iterdir())


def spool_path(part: FilePart) -> Path:
    assert part.path is not None
    return part.path


def content_of(part: FilePart) -> bytes:
    """The content of a file part, wherever it is; exactly one of `data` and `path` is set."""
    assert (part.data is None) != (part.path is None)
    return spool_path(part).read_bytes() if part.data is None else part.data


@pytest.fixture
def spool(tmp_path: Path) -> Path:
    folder = tmp_path / "spool"
    folder.mkdir()
    return folder


# -- well-formed bodies -------------------------------------------------------------------------------


async def test_fields_and_file_in_body_order(spool: Path) -> None:
    body = build_body(
        [
            Part.field("key", "ws/s1/${filename}"),
            Part.field("policy", "eyJhIjogMX0="),
            Part.file("file", "report.txt", b"hello\r\nworld"),
        ]
    )
    form = await parse(body, spool)
    assert form.fields == [("key", "ws/s1/${filename}"), ("policy", "eyJhIjogMX0=")]
    [part] = form.files
    assert (part.field_name, part.filename, part.content_type, part.size) == (
        "file",
        "report.txt",
        "text/plain",
        12,
    )
    assert spool_path(part).parent == spool
    assert content_of(part) == b"hello\r\nworld"
    assert spooled(spool) == [part.path]


async def test_every_single_byte_split_gives_the_same_result(spool: Path) -> None:
    parts = [
        Part.field("a", "x\r\n--b0undary"),
        Part.file("f", "n.bin", b"\r\n--b0undary-\r\n-"),
        Part.field("z", ""),
    ]
    body = build_body(parts, preamble=b"preamble --b0undary-X not at line start", epilogue=b"\r\nepilogue")
    expected = await parse(body, spool)
    assert expected.fields == [("a", "x\r\n--b0undary"), ("z", "")]
    assert content_of(expected.files[0]) == b"\r\n--b0undary-\r\n-"
    for cut in range(1, len(body)):
        form = await parse(split(body, [cut]), spool)
        assert form.fields == expected.fields
        assert content_of(form.files[0]) == b"\r\n--b0undary-\r\n-"
    one_byte_chunks = [body[i : i + 1] for i in range(len(body))]
    form = await parse(one_byte_chunks, spool)
    assert form.fields == expected.fields
    assert form.files[0].size == expected.files[0].size


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ('multipart/form-data; boundary="quoted-bound"', "quoted-bound"),
        ('multipart/form-data; boundary="with space;semi"', "with space;semi"),
        ("Multipart/Form-Data;boundary=tight", "tight"),
        ("multipart/form-data; charset=utf-8; boundary=after-param ", "after-param"),
        ("multipart/form-data; boundary='()+_,-./:=?", "'()+_,-./:=?"),
    ],
)
async def test_boundary_parameter_forms(spool: Path, content_type: str, boundary: str) -> None:
    body = build_body([Part.field("k", "v")], boundary)
    form = await parse(body, spool, content_type)
    assert form.fields == [("k", "v")]


async def test_preamble_epilogue_and_transport_padding(spool: Path) -> None:
    body = build_body(
        [Part.field("k", "v"), Part.file("f", "a.txt", b"data")],
        preamble=b"This is the preamble.\r\nIt is ignored.",
        epilogue=b"\r\nThis is the epilogue, also ignored.\r\n--b0undary-X\r\n",
        padding=b" \t ",
    )
    form = await parse(split(body, range(0, len(body), 7)), spool)
    assert form.fields == [("k", "v")]
    assert content_of(form.files[0]) == b"data"


async def test_body_without_final_crlf_and_without_parts(spool: Path) -> None:
    assert (await parse(build_body([Part.field("k", "v")], epilogue=b""), spool)).fields == [("k", "v")]
    empty = await parse(f"--{BOUNDARY}--".encode(), spool)
    assert empty == ParsedForm(fields=[], files=[])


async def test_empty_file_part_gets_an_empty_spool_file(spool: Path) -> None:
    form = await parse(build_body([Part.file("file", "empty.txt", b"")]), spool)
    [part] = form.files
    assert part.size == 0
    assert spooled(spool) == [spool_path(part)]
    assert content_of(part) == b""
    [in_memory] = (
        await parse(build_body([Part.file("file", "empty.txt", b"")]), spool, memory_file_bytes=1)
    ).files
    assert (in_memory.path, in_memory.data) == (None, b"")


async def test_part_without_headers_other_than_disposition_and_extra_headers(spool: Path) -> None:
    parts = [
        Part(("CONTENT-DISPOSITION:form-data;name=bare",), b"1"),
        Part(('content-disposition: Form-Data; name="x"', "Content-Transfer-Encoding: binary"), b"2"),
        Part(('Content-Disposition: form-data; name="f"; filename="a.txt"',), b"3"),
    ]
    form = await parse(build_body(parts), spool)
    assert form.fields == [("bare", "1"), ("x", "2")]
    assert form.files[0].content_type is None
    assert form.files[0].filename == "a.txt"


@pytest.mark.parametrize(
    ("disposition", "filename"),
    [
        ('form-data; name="file"; filename="my%20file.txt"', "my file.txt"),
        ('form-data; name="file"; filename="100%2525.txt"', "100%25.txt"),  # decoded exactly once
        ('form-data; name="file"; filename="%C3%A4%E2%82%AC.txt"', "ä€.txt"),
        ('form-data; name="file"; filename="raw ä.txt"', "raw ä.txt"),
        ('form-data; name="file"; filename="a\\"b\\\\c.txt"', 'a"b\\c.txt'),
        ('form-data; name="file"; filename="semi;colon.txt"', "semi;colon.txt"),
        ('form-data; name="file"; filename=token.txt', "token.txt"),
        ('form-data; name="file"; filename=""', ""),
        ('form-data; name="file"; filename="plain.txt"; filename*=utf-8\'\'star%20%C3%A4.txt', "star ä.txt"),
        ("form-data; name=\"file\"; filename*=UTF-8'en'only%20star.txt", "only star.txt"),
        ("form-data; name=\"file\"; filename*=iso-8859-1''caf%E9.txt", "café.txt"),
        ("form-data; name=\"file\"; filename*=''no-charset.txt", "no-charset.txt"),
    ],
)
async def test_filename_decoding(spool: Path, disposition: str, filename: str) -> None:
    body = build_body([Part((f"Content-Disposition: {disposition}",), b"x")])
    [part] = (await parse(body, spool)).files
    assert part.filename == filename


async def test_extended_name_parameter(spool: Path) -> None:
    body = build_body([Part(("Content-Disposition: form-data; name*=utf-8''f%C3%BCnf",), b"5")])
    assert (await parse(body, spool)).fields == [("fünf", "5")]


async def test_header_cache_agrees_with_the_full_parse(spool: Path) -> None:
    # The same template with different filenames, then a filename that hides a line break.
    for on_wire, filename in [("one.txt", "one.txt"), ("two%20w.txt", "two w.txt"), ("thr%C3%A9e", "thrée")]:
        body = build_body([Part.file("file", "PLACEHOLDER", b"d")]).replace(b"PLACEHOLDER", on_wire.encode())
        [part] = (await parse(body, spool)).files
        assert part.filename == filename
    broken = build_body([Part.file("file", "PLACEHOLDER", b"d")]).replace(b"PLACEHOLDER", b"a\r\nX-Evil: 1")
    with pytest.raises(MultipartError, match="quoted string"):
        await parse(broken, spool)


async def test_large_file_is_streamed_not_held_in_memory(spool: Path) -> None:
    chunk_size, chunk_count = 64 * 1024, 128  # an 8 MiB file
    head = b"".join(
        [
            f"--{BOUNDARY}\r\n".encode(),
            b'Content-Disposition: form-data; name="f"; filename="big.bin"\r\n\r\n',
        ]
    )
    tail = f"\r\n--{BOUNDARY}--\r\n".encode()

    def chunks() -> Iterator[bytes]:  # generated lazily, so only the parser could hold the whole file
        yield head
        for i in range(chunk_count):
            yield bytes([i % 251]) * chunk_size
        yield tail

    tracemalloc.start()
    try:
        form = await parse(chunks(), spool, memory_file_bytes=256 * 1024)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    [part] = form.files
    assert part.size == chunk_size * chunk_count
    assert peak < 1 << 20
    assert part.path is not None
    with part.path.open("rb") as handle:
        for i in range(chunk_count):
            assert handle.read(chunk_size) == bytes([i % 251]) * chunk_size


async def test_spool_files_have_unique_names_across_concurrent_parses(spool: Path) -> None:
    body = build_body([Part.file("a", "same.txt", b"1"), Part.file("b", "same.txt", b"2")])
    forms: list[ParsedForm] = []

    async def one() -> None:
        forms.append(await parse(split(body, range(0, len(body), 5)), spool))

    async with anyio.create_task_group() as tg:
        for _ in range(20):
            tg.start_soon(one)
    paths = [spool_path(part) for form in forms for part in form.files]
    assert len(paths) == len(set(paths)) == 40
    assert spooled(spool) == sorted(paths)


@pytest.mark.parametrize("chunk", [1 << 20, 7, 1])
async def test_memory_file_bytes_keeps_small_files_in_memory(spool: Path, chunk: int) -> None:
    body = build_body([Part.file("a", "small.txt", b"s" * 100), Part.file("b", "big.txt", b"b" * 101)])
    form = await parse(split(body, range(0, len(body), chunk)), spool, memory_file_bytes=100)
    small, big = form.files
    assert (small.path, small.data, small.size) == (None, b"s" * 100, 100)
    assert big.data is None
    assert big.path is not None
    assert content_of(big) == b"b" * 101
    assert spooled(spool) == [big.path]


async def test_memory_file_bytes_never_exceeds_the_file_limit(spool: Path) -> None:
    body = build_body([Part.file("a", "small.txt", b"s" * 11)])
    with pytest.raises(PartTooLarge):
        await parse(split(body, range(0, len(body), 3)), spool, max_file_bytes=10, memory_file_bytes=100)
    assert spooled(spool) == []


async def test_spool_dir_may_be_a_string(spool: Path) -> None:
    stream = ChunkedStream([build_body([Part.file("f", "a", b"1")])])
    form = await parse_multipart(stream, CONTENT_TYPE, spool_dir=str(spool), max_file_bytes=10)
    assert spool_path(form.files[0]) == spool / spool_path(form.files[0]).name


# -- limits --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunk", [1 << 20, 3])
async def test_file_size_limit(spool: Path, chunk: int) -> None:
    ok = build_body([Part.file("f", "a", b"x" * 100)])
    assert (await parse(split(ok, range(0, len(ok), chunk)), spool, max_file_bytes=100)).files[0].size == 100
    too_big = build_body([Part.file("f", "a", b"x" * 101)])
    with pytest.raises(PartTooLarge) as info:
        await parse(split(too_big, range(0, len(too_big), chunk)), spool, max_file_bytes=100)
    assert (info.value.limit, info.value.field_name, info.value.is_file) == (100, "f", True)
    assert "larger than 100 bytes" in str(info.value)
    assert len(spooled(spool)) == 1  # only the successful parse's file is left


@pytest.mark.parametrize("chunk", [1 << 20, 3])
async def test_field_size_limit(spool: Path, chunk: int) -> None:
    ok = build_body([Part.field("k", "v" * 10)])
    assert (await parse(split(ok, range(0, len(ok), chunk)), spool, max_field_bytes=10)).fields == [
        ("k", "v" * 10)
    ]
    too_big = build_body([Part.field("k", "v" * 11)])
    with pytest.raises(PartTooLarge) as info:
        await parse(split(too_big, range(0, len(too_big), chunk)), spool, max_field_bytes=10)
    assert (info.value.limit, info.value.is_file) == (10, False)


async def test_oversized_field_fails_before_the_body_ends(spool: Path) -> None:
    head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="k"\r\n\r\n'.encode()

    def endless() -> Iterator[bytes]:
        yield head
        while True:
            yield b"v" * 4096

    stream = ChunkedStream(endless())
    with pytest.raises(PartTooLarge):
        await parse_multipart(stream, CONTENT_TYPE, spool_dir=spool, max_file_bytes=1, max_field_bytes=10_000)
    assert stream.chunks_read <= 5


async def test_too_many_parts_deletes_spooled_files(spool: Path) -> None:
    body = build_body([Part.file(f"f{i}", f"{i}.txt", b"x") for i in range(4)])
    assert len((await parse(body, spool, max_parts=4)).files) == 4
    for leftover in spooled(spool):
        leftover.unlink()
    with pytest.raises(MultipartError, match="too many parts: more than 3"):
        await parse(body, spool, max_parts=3)
    assert spooled(spool) == []


async def test_part_too_large_survives_pickling() -> None:
    error = PartTooLarge("file part 'f' is larger than 5 bytes", 5, "f", True)
    copy = pickle.loads(pickle.dumps(error))
    assert (str(copy), copy.limit, copy.field_name, copy.is_file) == (str(error), 5, "f", True)
    assert isinstance(copy, MultipartError)


# -- malformed bodies ----------------------------------------------------------------------------------


def _truncations() -> list[bytes]:
    body = build_body([Part.field("k", "v"), Part.file("f", "a.txt", b"data")], epilogue=b"")
    return [body[:n] for n in (0, 5, len(body) // 2, len(body) - 3, len(body) - 1)]


@pytest.mark.parametrize("body", _truncations())
async def test_missing_closing_boundary_is_truncated(spool: Path, body: bytes) -> None:
    with pytest.raises(MultipartError, match="truncated"):
        await parse(split(body, range(0, len(body), 4)), spool)
    assert spooled(spool) == []


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (("Content-Type: text/plain",), "no Content-Disposition"),
        ((), "no Content-Disposition"),
        (("Content-Disposition: form-data",), "no name parameter"),
        (('Content-Disposition: attachment; name="a"',), "expected 'form-data'"),
        (('Content-Disposition: form-data; name="a"', " folded: continuation"), "malformed part header line"),
        (("no colon here",), "malformed part header line"),
        (('Content-Disposition: form-data; name="a"; name="b"',), "parameter 'name' twice"),
        (('Content-Disposition: form-data; name="a',), "unterminated quoted string"),
        (('Content-Disposition: form-data; name="a" junk',), "text after a quoted value"),
        (
            ('Content-Disposition: form-data; name="a"', 'Content-Disposition: form-data; name="b"'),
            "more than one",
        ),
        (('Content-Disposition: form-data; name="f"; filename*=utf-8\'x.txt',), "malformed RFC 5987"),
        (("Content-Disposition: form-data; name=\"f\"; filename*=nonsense-charset''x%41",), "cannot decode"),
        (('Content-Disposition: form-data; name="f"; filename="%FF.txt"',), "not valid"),
    ],
)
async def test_malformed_part_headers(spool: Path, headers: tuple[str, ...], message: str) -> None:
    body = build_body([Part.file("ok", "first.txt", b"1"), Part(headers, b"x")])
    with pytest.raises(MultipartError, match=message):
        await parse(body, spool)
    assert spooled(spool) == []


async def test_undecodable_bytes(spool: Path) -> None:
    with pytest.raises(MultipartError, match="field 'k' is not valid UTF-8"):
        await parse(build_body([Part.field("k", b"\xff\xfe")]), spool)
    body = f"--{BOUNDARY}\r\n".encode() + b'Content-Disposition: form-data; name="\xff"\r\n\r\nx\r\n'
    with pytest.raises(MultipartError, match="part headers are not valid UTF-8"):
        await parse(body + f"--{BOUNDARY}--".encode(), spool)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (f"--{BOUNDARY}junk\r\n".encode(), "unexpected characters after the boundary"),
        (f"--{BOUNDARY}".encode() + b" " * 300, "no CRLF after the boundary"),
        (f"--{BOUNDARY}\r\n".encode() + b"X-Long: " + b"a" * 17000, "header block is larger"),
    ],
)
async def test_malformed_structure(spool: Path, body: bytes, message: str) -> None:
    with pytest.raises(MultipartError, match=message):
        await parse(split(body, range(0, len(body), 1000)), spool)


@pytest.mark.parametrize(
    ("content_type", "message"),
    [
        ("application/json", "expected a multipart/form-data body"),
        ("multipart/form-data", "no boundary parameter"),
        ("multipart/form-data; boundary=", "no boundary parameter"),
        ("multipart/form-data; boundary=" + "x" * 71, "longer than 70"),
        ("multipart/form-data; boundary=ä", "not ASCII"),
        ("multipart/form-data; boundary", "malformed Content-Type parameter"),
    ],
)
async def test_bad_content_type(spool: Path, content_type: str, message: str) -> None:
    with pytest.raises(MultipartError, match=message):
        await parse(build_body([]), spool, content_type)


async def test_cancellation_deletes_spooled_files(spool: Path) -> None:
    first = build_body([Part.file("f", "a.txt", b"complete")]).replace(f"--{BOUNDARY}--".encode(), b"")
    stream = new_stream()
    stream.feed_data(first + f"--{BOUNDARY}\r\nContent-Disp".encode())  # then nothing more arrives
    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(partial(parse_multipart, stream, CONTENT_TYPE, spool_dir=spool, max_file_bytes=99))
            with anyio.fail_after(10):
                while not spooled(spool):
                    await anyio.sleep(0.001)
            scope.cancel()
    assert spooled(spool) == []


# -- a real aiohttp client and server -----------------------------------------------------------------


@pytest.fixture
async def echo_server(spool: Path) -> AsyncIterator[str]:
    """An aiohttp.web server that parses each POST with `parse_multipart` and answers what it found."""

    async def handle(request: web.Request) -> web.Response:
        try:
            form = await parse_multipart(
                request.content, request.headers["Content-Type"], spool_dir=spool, max_file_bytes=1 << 20
            )
        except MultipartError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        files = [
            {
                "field": f.field_name,
                "filename": f.filename,
                "content_type": f.content_type,
                "size": f.size,
                "data": content_of(f).decode("latin-1"),
            }
            for f in form.files
        ]
        return web.json_response({"fields": form.fields, "files": files})

    app = web.Application()
    app.router.add_post("/", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        await runner.cleanup()


async def test_real_aiohttp_form_over_loopback(echo_server: str) -> None:
    big = os.urandom(300_000)
    form = aiohttp.FormData(quote_fields=True)
    form.add_field("key", "ws/sess/${filename}")
    form.add_field("policy", "eyJleHBpcmF0aW9uIjogIjIwMzAifQ==")
    form.add_field("x-amz-signature", "välue with ümlauts")
    form.add_field("file", b"1 KiB" * 200, filename='my file ä "q" 100%.txt', content_type="text/plain")
    form.add_field("second", io.BytesIO(big), filename="big.bin", content_type="application/octet-stream")
    async with aiohttp.ClientSession() as http, http.post(echo_server, data=form) as response:
        assert response.status == 200
        answer = await response.json()
    assert answer["fields"] == [
        ["key", "ws/sess/${filename}"],
        ["policy", "eyJleHBpcmF0aW9uIjogIjIwMzAifQ=="],
        ["x-amz-signature", "välue with ümlauts"],
    ]
    small, large = answer["files"]
    assert small == {
        "field": "file",
        "filename": 'my file ä "q" 100%.txt',
        "content_type": "text/plain",
        "size": 1000,
        "data": "1 KiB" * 200,
    }
    assert (large["filename"], large["size"]) == ("big.bin", len(big))
    assert large["data"].encode("latin-1") == big


async def test_real_server_reports_truncated_chunked_body(echo_server: str) -> None:
    async def body() -> AsyncIterator[bytes]:
        yield f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="k"\r\n\r\nv'.encode()

    headers = {"Content-Type": CONTENT_TYPE}
    async with (
        aiohttp.ClientSession() as http,
        http.post(echo_server, data=body(), headers=headers) as response,
    ):
        assert response.status == 400
        assert "truncated" in (await response.json())["error"]


def test_an_extended_filename_that_decodes_to_the_cache_sentinel_still_wins() -> None:
    block = (
        b'Content-Disposition: form-data; name="file"; filename="decoy.txt"; '
        b"filename*=utf-8''%00\r\nContent-Type: text/plain"
    )
    for _ in range(2):  # the second call may come from the header cache
        assert _multipart_headers.part_headers(block) == ("file", "\x00", "text/plain")


# -- Hypothesis: random bodies, random chunking --------------------------------------------------------

_BCHARS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'()+_,-./:=?"
_TRICKY = [b"\r\n", b"\r", b"\n", b"--", b"\r\n--", b"\r\n\r\n", b'"', b"\\", b"%", b"\x00", b"\xff"]


@st.composite
def boundaries(draw: st.DrawFn) -> str:
    body = draw(st.text(alphabet=_BCHARS + " ", min_size=0, max_size=69))
    return body + draw(st.sampled_from(_BCHARS))  # the last character must not be a space


@st.composite
def contents(draw: st.DrawFn, boundary: str, *, text: bool = False) -> bytes:
    """Content that comes close to the delimiter in many ways without containing it."""
    delimiter = f"\r\n--{boundary}".encode()
    near_misses = [delimiter[:n] for n in range(1, len(delimiter))] + [delimiter[1:], delimiter[2:]]
    tricky = [t for t in _TRICKY if t != b"\xff"] if text else _TRICKY
    plain = st.text(max_size=20).map(lambda t: t.encode()) if text else st.binary(max_size=40)
    pieces = draw(st.lists(st.one_of(plain, st.sampled_from(tricky + near_misses)), max_size=8))
    content = b"".join(pieces)
    assume(delimiter not in b"\r\n" + content)
    return content


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


_NAMES = st.text(st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"), max_size=12)


@st.composite
def parts_and_expectations(draw: st.DrawFn, boundary: str) -> tuple[Part, tuple[str, str | None, bytes]]:
    name = draw(_NAMES)
    is_field = draw(st.booleans())
    content = draw(contents(boundary, text=is_field))
    if is_field:
        return Part((f"Content-Disposition: form-data; name={_quoted(name)}",), content), (
            name,
            None,
            content,
        )
    filename = draw(_NAMES)
    style = draw(st.sampled_from(["percent", "rfc5987", "raw"]))
    if style == "percent":
        param = f'filename="{quote(filename, safe="")}"'
    elif style == "rfc5987":
        param = f"filename=\"decoy.txt\"; filename*=utf-8''{quote(filename, safe='')}"
    else:
        assume("%" not in filename)
        param = f"filename={_quoted(filename)}"
    headers = [f"Content-Disposition: form-data; name={_quoted(name)}; {param}", "Content-Type: text/plain"]
    if draw(st.booleans()):
        headers.reverse()
    return Part(tuple(headers), content), (name, filename, content)


@attrs.frozen
class Case:
    """A generated body, its expected parts and where to split it into chunks."""

    boundary: str
    body: bytes
    expected: list[tuple[str, str | None, bytes]]
    closing_end: int  # the body up to here is needed; the rest is epilogue
    cuts: list[int]

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={_quoted(self.boundary)}"


@st.composite
def bodies(draw: st.DrawFn) -> Case:
    boundary = draw(boundaries())
    drawn = draw(st.lists(parts_and_expectations(boundary), max_size=6))
    epilogue = draw(st.binary(max_size=20))
    body = build_body(
        [part for part, _ in drawn],
        boundary,
        preamble=draw(contents(boundary)),
        epilogue=epilogue,
        padding=draw(st.sampled_from([b"", b" ", b"\t \t"])),
    )
    cuts = draw(st.lists(st.integers(min_value=1, max_value=max(1, len(body) - 1)), max_size=12))
    return Case(boundary, body, [expected for _, expected in drawn], len(body) - len(epilogue), cuts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies(), memory_file_bytes=st.sampled_from([0, 0, 1, 20, 1 << 20]))
async def test_random_bodies_split_at_random_points(case: Case, memory_file_bytes: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        spool = Path(folder)
        form = await parse(
            split(case.body, case.cuts), spool, case.content_type, memory_file_bytes=memory_file_bytes
        )
        assert form.fields == [
            (name, data.decode()) for name, filename, data in case.expected if filename is None
        ]
        files = [(f.field_name, f.filename, content_of(f)) for f in form.files]
        assert files == [expected for expected in case.expected if expected[1] is not None]
        assert [f.size for f in form.files] == [len(data) for _, _, data in files]
        assert all((f.data is not None) == (0 < memory_file_bytes >= f.size) for f in form.files)
        assert spooled(spool) == sorted(f.path for f in form.files if f.path is not None)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies(), data=st.data())
async def test_random_truncations_fail_and_leave_nothing(case: Case, data: st.DataObject) -> None:
    length = data.draw(st.integers(min_value=0, max_value=case.closing_end - 1), label="length")
    with tempfile.TemporaryDirectory() as folder:
        spool = Path(folder)
        with pytest.raises(MultipartError, match="truncated"):
            await parse(split(case.body[:length], case.cuts), spool, case.content_type)
        assert spooled(spool) == []


@settings(max_examples=300, deadline=None)
@given(
    name=_NAMES,
    filename=_NAMES,
    content_type=st.none() | st.sampled_from(["text/plain", "application/pdf; x=1"]),
    style=st.sampled_from(["percent", "quoted", "token"]),
)
def test_cached_header_parse_equals_full_parse(
    name: str, filename: str, content_type: str | None, style: str
) -> None:
    value = {"percent": f'"{quote(filename, safe="")}"', "quoted": _quoted(filename), "token": filename}[
        style
    ]
    lines = [f"Content-Disposition: form-data; name={_quoted(name)}; filename={value}"]
    if content_type is not None:
        lines.append(f"Content-Type: {content_type}")
    block = "\r\n".join(lines).encode()
    try:
        expected: Any = _multipart_headers.parse_part_headers(block)
    except MultipartError as exc:
        expected = type(exc)
    for _ in range(2):  # the second call takes the cached template
        try:
            got: Any = _multipart_headers.part_headers(block)
        except MultipartError as exc:
            got = type(exc)
        assert got == expected


def test_file_part_is_a_frozen_record(tmp_path: Path) -> None:
    part = FilePart("f", "a.txt", None, tmp_path, 0)
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        part.size = 1  # type: ignore[misc]
