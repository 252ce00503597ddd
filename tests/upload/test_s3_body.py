"""The presigned-POST body and S3 error mapping, checked without a server by parsing them back."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from email.utils import format_datetime
from urllib.parse import unquote

import pytest

from deepset_cloud._http.storage import (
    MultipartTemplate,
    parse_s3_error,
    s3_upload_error,
)

FIELDS = {
    "key": "ws/0f1e/${filename}",
    "policy": "eyJleHBpcmF0aW9uIjogIjIwMjQifQ==",
    "x-amz-algorithm": "AWS4-HMAC-SHA256",
    "x-amz-credential": "AKIA/20240203/eu-central-1/s3/aws4_request",
    "x-amz-date": "20240203T075854Z",
    "x-amz-signature": "abc123",
}


def parse(template: MultipartTemplate, body: bytes) -> list[Message]:
    document = f"Content-Type: {template.content_type}\r\n\r\n".encode() + body
    message = message_from_bytes(document)
    assert message.is_multipart()
    parts = message.get_payload()
    assert isinstance(parts, list)
    return [part for part in parts if isinstance(part, Message)]


def test_body_has_every_field_in_order_then_the_file_part_last() -> None:
    template = MultipartTemplate.build(FIELDS)
    content = b"line one\r\n--not-a-boundary\r\n\x00\xff binary"

    parts = parse(template, template.body("report.txt", content))

    assert [part.get_param("name", header="content-disposition") for part in parts] == [*FIELDS, "file"]
    for part, value in zip(parts[:-1], FIELDS.values(), strict=True):
        assert part.get_payload(decode=True) == value.encode()
    file_part = parts[-1]
    assert file_part.get_content_type() == "text/plain"
    assert file_part.get_payload(decode=True) == content


def test_head_is_built_once_and_shared_by_every_object() -> None:
    template = MultipartTemplate.build(FIELDS)

    first, second = template.body("a.txt", b"A"), template.body("b.txt", b"B")

    assert first.startswith(template.head)
    assert second.startswith(template.head)
    assert first.endswith(template.tail)
    assert template.tail == f"\r\n--{template.boundary}--\r\n".encode()


@pytest.mark.parametrize(
    ("name", "on_the_wire"),
    [
        ("my file.txt", "my%20file.txt"),
        ("résumé.pdf", "r%C3%A9sum%C3%A9.pdf"),
        ('we"ird#na%me[1].txt', "we%22ird%23na%25me%5B1%5D.txt"),
        ("pct%20.txt", "pct%2520.txt"),
        ("a+b~c.txt", "a%2Bb~c.txt"),
    ],
)
def test_file_name_is_kept_verbatim_and_percent_encoded_once(name: str, on_the_wire: str) -> None:
    template = MultipartTemplate.build(FIELDS)

    body = template.body(name, b"x")

    assert f'name="file"; filename="{on_the_wire}"'.encode() in body
    assert unquote(on_the_wire) == name  # the storage endpoint decodes once: the stored name is `name`


def test_unusual_field_names_stay_on_one_line() -> None:
    template = MultipartTemplate.build({'odd"name\r\n': "v"})

    assert b"\r\n\r\n" not in template.head.split(b"Content-Disposition")[1].split(b"\r\n\r\nv")[0]
    assert b'name="odd%22name%0D%0A"' in template.head


def test_parse_s3_error_reads_code_and_message() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
        b"<Message>Invalid according to Policy: Policy expired &amp; gone</Message>"
        b"<RequestId>1</RequestId></Error>"
    )
    assert parse_s3_error(body) == ("AccessDenied", "Invalid according to Policy: Policy expired & gone")
    assert parse_s3_error(b"<html>proxy error</html>") == (None, None)


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (503, "SlowDown", True),
        (500, "InternalError", True),
        (502, None, True),
        (504, None, True),
        (408, None, True),
        (429, None, True),
        (400, "RequestTimeout", True),
        (400, "IncompleteBody", True),
        (400, "MalformedPOSTRequest", False),
        (400, "EntityTooLarge", False),
        (403, "AccessDenied", False),
        (404, "NoSuchBucket", False),
    ],
)
def test_s3_errors_are_retryable_only_when_transient(status: int, code: str | None, retryable: bool) -> None:
    body = b"" if code is None else f"<Error><Code>{code}</Code><Message>m</Message></Error>".encode()

    error = s3_upload_error("a.txt", status, body, retry_after="2")

    assert error.is_retryable is retryable
    assert error.s3_code == code
    assert error.status_code == status
    assert error.file_name == "a.txt"
    assert error.retry_after == 2.0
    assert f"HTTP {status}" in str(error)


@pytest.mark.parametrize(("header", "expected"), [(None, None), ("1.5", 1.5), ("-3", 0.0), ("soon", None)])
def test_s3_retry_after_is_read_like_the_apis(header: str | None, expected: float | None) -> None:
    error = s3_upload_error("a.txt", 503, b"", retry_after=header)
    assert error.retry_after == expected


def test_s3_retry_after_as_an_http_date_is_honoured() -> None:
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=30), usegmt=True)
    error = s3_upload_error("a.txt", 503, b"", retry_after=when)
    assert error.retry_after is not None
    assert 0 < error.retry_after <= 30
