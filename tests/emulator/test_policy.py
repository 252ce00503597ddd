"""Presigned POST policies: round trip, tampering, expiry, missing fields, and the S3 XML error shape."""

from __future__ import annotations

import base64
import json
import xml.etree.ElementTree as ET
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from deepset_cloud.emulator.s3.policy import (
    BUCKET,
    PolicyGrant,
    S3Error,
    entity_too_large,
    make_presigned_fields,
    s3_error_response,
    verify_presigned_fields,
    verify_presigned_form,
)

SECRET = b"emulator-secret"
NOW = datetime(2024, 2, 3, 7, 58, 54, 730474, tzinfo=timezone.utc)
EXPIRES = NOW + timedelta(hours=24)
PREFIX = "my ws/2f9e1c7a-6a0b-4d2e-9a57-0d7c3c7b1e11/"


def fields(**overrides: str) -> dict[str, str]:
    made = make_presigned_fields(SECRET, PREFIX, EXPIRES, 1024, now=NOW)
    made.update(overrides)
    return made


def rejected(form: dict[str, str], *, now: datetime = NOW, secret: bytes = SECRET) -> S3Error:
    with pytest.raises(S3Error) as info:
        verify_presigned_fields(secret, form, now=now)
    return info.value


def decoded_policy(form: dict[str, str]) -> dict[str, Any]:
    document = json.loads(base64.b64decode(form["policy"]))
    assert isinstance(document, dict)
    return document


def test_fields_have_the_s3_shape_in_order() -> None:
    form = fields()
    assert list(form) == [
        "key",
        "x-amz-algorithm",
        "x-amz-credential",
        "x-amz-date",
        "policy",
        "x-amz-signature",
    ]
    assert form["key"] == PREFIX + "${filename}"
    assert form["x-amz-algorithm"] == "AWS4-HMAC-SHA256"
    assert form["x-amz-date"] == "20240203T075854Z"
    access_key, date, region, service, terminal = form["x-amz-credential"].split("/")
    assert (date, region, service, terminal) == ("20240203", "eu-central-1", "s3", "aws4_request")
    assert access_key.startswith("ASIA")
    assert "secret" not in form["x-amz-credential"].lower()
    assert len(form["x-amz-signature"]) == 64
    int(form["x-amz-signature"], 16)
    assert all(isinstance(value, str) for value in form.values())


def test_policy_document_states_expiry_prefix_and_size() -> None:
    document = decoded_policy(fields())
    assert document["expiration"] == "2024-02-04T07:58:54.730474Z"
    conditions = document["conditions"]
    assert {"bucket": BUCKET} in conditions
    assert ["starts-with", "$key", PREFIX] in conditions
    assert ["content-length-range", 0, 1024] in conditions
    assert {"x-amz-date": "20240203T075854Z"} in conditions


def test_round_trip_grants_what_was_signed() -> None:
    grant = verify_presigned_fields(SECRET, fields(), now=NOW)
    assert grant == PolicyGrant(PREFIX, EXPIRES, 1024)


def test_field_names_are_case_insensitive_and_extra_fields_are_accepted() -> None:
    form = {name.upper() if name != "key" else name: value for name, value in fields().items()}
    form["success_action_status"] = "201"
    form["Content-Type"] = "text/plain"
    assert verify_presigned_fields(SECRET, form, now=NOW).key_prefix == PREFIX


def test_substituted_key_under_the_prefix_is_accepted() -> None:
    assert verify_presigned_fields(SECRET, fields(key=PREFIX + "report.txt"), now=NOW).max_bytes == 1024


def test_expiry_is_checked_against_now() -> None:
    assert (
        verify_presigned_fields(SECRET, fields(), now=EXPIRES - timedelta(microseconds=1)).expires_at
        == EXPIRES
    )
    error = rejected(fields(), now=EXPIRES)
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == "Invalid according to Policy: Policy expired."
    later_in_another_zone = (EXPIRES + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=5)))
    assert rejected(fields(), now=later_in_another_zone).message.endswith("Policy expired.")


def test_wrong_secret_is_a_signature_mismatch() -> None:
    error = rejected(fields(), secret=b"another-secret")
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_tampered_signature_is_rejected() -> None:
    form = fields()
    flipped = ("0" if form["x-amz-signature"][0] != "0" else "1") + form["x-amz-signature"][1:]
    assert rejected(fields(**{"x-amz-signature": flipped})).code == "SignatureDoesNotMatch"
    assert rejected(fields(**{"x-amz-signature": "é" * 64})).code == "SignatureDoesNotMatch"
    assert rejected(fields(**{"x-amz-signature": ""})).code == "SignatureDoesNotMatch"


def test_tampered_policy_is_rejected() -> None:
    form = fields()
    document = decoded_policy(form)
    document["conditions"] = [
        ["content-length-range", 0, 10**12] if isinstance(c, list) and c[0] == "content-length-range" else c
        for c in document["conditions"]
    ]
    forged = base64.b64encode(json.dumps(document).encode()).decode()
    error = rejected(fields(policy=forged))
    assert (error.code, error.status) == ("SignatureDoesNotMatch", 403)


def test_tampered_credential_or_date_is_rejected() -> None:
    form = fields()
    other_day = form["x-amz-credential"].replace("20240203", "20240204")
    assert rejected(fields(**{"x-amz-credential": other_day})).code == "SignatureDoesNotMatch"
    error = rejected(fields(**{"x-amz-date": "20240204T000000Z"}))
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert "Policy Condition failed" in error.message
    assert "x-amz-date" in error.message


def test_key_outside_the_prefix_is_denied() -> None:
    error = rejected(fields(key="other-ws/session/${filename}"))
    assert (error.code, error.status) == ("AccessDenied", 403)
    assert error.message == (
        'Invalid according to Policy: Policy Condition failed: ["starts-with", "$key", "' + PREFIX + '"]'
    )


@pytest.mark.parametrize(
    "missing", ["policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature"]
)
def test_missing_signing_field_is_an_invalid_argument(missing: str) -> None:
    form = fields()
    del form[missing]
    error = rejected(form)
    assert (error.code, error.status) == ("InvalidArgument", 400)
    assert f"'{missing}'" in error.message


def test_missing_key_is_an_invalid_argument() -> None:
    form = fields()
    del form["key"]
    error = rejected(form)
    assert (error.code, error.status) == ("InvalidArgument", 400)
    assert "field named 'key'" in error.message


def test_anonymous_post_is_denied() -> None:
    error = rejected({"key": PREFIX + "a.txt"})
    assert (error.code, error.status) == ("AccessDenied", 403)


def test_unknown_algorithm_is_an_invalid_argument() -> None:
    error = rejected(fields(**{"x-amz-algorithm": "AWS4-HMAC-SHA1"}))
    assert (error.code, error.status) == ("InvalidArgument", 400)


def test_policy_that_is_signed_but_unreadable_is_an_invalid_policy() -> None:
    # Only someone with the secret can produce this; it still must not crash the endpoint.
    for garbage in ("not base64!", base64.b64encode(b"{not json").decode(), base64.b64encode(b"[]").decode()):
        form = fields(policy=garbage)
        form["x-amz-signature"] = resign(form)
        error = rejected(form)
        assert (error.code, error.status) == ("InvalidPolicyDocument", 400)


def resign(form: dict[str, str]) -> str:
    from deepset_cloud.emulator.s3.policy import _signature  # the one private helper a test may use

    return _signature(SECRET, form["x-amz-credential"], form["policy"])


def test_naive_datetimes_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        make_presigned_fields(SECRET, PREFIX, EXPIRES.replace(tzinfo=None), 1024)
    with pytest.raises(ValueError, match="timezone-aware"):
        verify_presigned_fields(SECRET, fields(), now=NOW.replace(tzinfo=None))


def test_verification_is_cached_per_policy_and_signature_but_still_checks_everything() -> None:
    form = fields()
    first = verify_presigned_fields(SECRET, form, now=NOW)
    assert verify_presigned_fields(SECRET, form, now=NOW) is first  # decoded once, reused
    # A cached policy is never trusted for another secret, a later time or another key.
    assert rejected(form, secret=b"x").code == "SignatureDoesNotMatch"
    assert rejected(form, now=EXPIRES).message.endswith("Policy expired.")
    assert rejected({**form, "key": "elsewhere/${filename}"}).code == "AccessDenied"


def _us(moment: datetime) -> int:
    return (moment - datetime(1970, 1, 1, tzinfo=timezone.utc)) // timedelta(microseconds=1)


def test_form_verification_is_cached_per_field_list_and_rechecks_the_clock() -> None:
    form = list(fields(success_action_status="201").items())
    grant = verify_presigned_form(SECRET, form, now_us=_us(NOW))
    assert grant == PolicyGrant(PREFIX, EXPIRES, 1024)
    assert verify_presigned_form(SECRET, form, now_us=_us(EXPIRES) - 1) is grant  # the cached grant
    with pytest.raises(S3Error, match="Policy expired"):
        verify_presigned_form(SECRET, form, now_us=_us(EXPIRES))
    # Anything else than the exact field list, or another secret, is verified in full.
    with pytest.raises(S3Error) as info:
        verify_presigned_form(b"other", form, now_us=_us(NOW))
    assert info.value.code == "SignatureDoesNotMatch"
    with pytest.raises(S3Error) as info:
        verify_presigned_form(SECRET, [*form, ("key", "elsewhere/${filename}")], now_us=_us(NOW))
    assert info.value.code == "AccessDenied"  # a later duplicate wins, as in a dict of the fields


# --------------------------------------------------------------------------------------------------
# XML errors


def parse_error(response_body: bytes) -> dict[str, str]:
    root = ET.fromstring(response_body)
    assert root.tag == "Error"
    return {child.tag: child.text or "" for child in root}


def test_error_response_is_s3_shaped_xml() -> None:
    response = s3_error_response(
        S3Error("AccessDenied", "Invalid according to Policy: Policy expired.", 403),
        "/_s3/user-files-upload/",
        request_id="4442587FB7D0A2F9",
    )
    assert response.status == 403
    assert response.content_type == "application/xml"
    assert response.headers["x-amz-request-id"] == "4442587FB7D0A2F9"
    assert isinstance(response.body, bytes)
    assert response.body.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    )
    assert list(parse_error(response.body).items()) == [
        ("Code", "AccessDenied"),
        ("Message", "Invalid according to Policy: Policy expired."),
        ("Resource", "/_s3/user-files-upload/"),
        ("RequestId", "4442587FB7D0A2F9"),
    ]


def test_error_text_is_escaped() -> None:
    nasty = "</Message><Code>Injected</Code> & \"quotes\" 'single' \x00\x07 ünïcode \ud800"
    response = s3_error_response(S3Error("InvalidArgument", nasty, 400), "/a&b<c>")
    assert isinstance(response.body, bytes)
    parsed = parse_error(response.body)
    assert parsed["Code"] == "InvalidArgument"
    assert parsed["Message"] == "</Message><Code>Injected</Code> & \"quotes\" 'single' ?? ünïcode ?"
    assert parsed["Resource"] == "/a&b<c>"
    assert len(parsed["RequestId"]) == 16  # generated when not given


def test_request_ids_differ_between_responses() -> None:
    error = S3Error("InternalError", "We encountered an internal error. Please try again.", 500)
    assert (
        s3_error_response(error, "/").headers["x-amz-request-id"]
        != s3_error_response(error, "/").headers["x-amz-request-id"]
    )


def test_entity_too_large_names_the_limit() -> None:
    error = entity_too_large(1024, proposed_size=2048)
    assert (error.code, error.status) == ("EntityTooLarge", 400)
    response = s3_error_response(error, "/_s3/user-files-upload/")
    assert isinstance(response.body, bytes)
    parsed = parse_error(response.body)
    assert list(parsed)[:4] == ["Code", "Message", "ProposedSize", "MaxSizeAllowed"]
    assert (parsed["MaxSizeAllowed"], parsed["ProposedSize"]) == ("1024", "2048")
    assert "ProposedSize" not in entity_too_large(5).details


def test_s3_error_message_names_code() -> None:
    assert str(S3Error("SlowDown", "Please reduce your request rate.", 503)) == (
        "SlowDown: Please reduce your request rate."
    )
