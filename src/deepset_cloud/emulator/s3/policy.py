"""S3-style presigned POST policies for the emulator's upload endpoint, and S3-shaped XML errors.

`make_presigned_fields` hands out what `POST upload_sessions` returns in `aws_prefixed_request_config.fields`;
`verify_presigned_fields` checks them again on every object POST and says what the post may do.

The signature follows S3's POST signing with Signature Version 4: the signing key is derived from the
emulator's secret, the date, the region and the service (`AWS4` HMAC chain) and signs the base64 policy.
Nothing here is verifiable by AWS (there are no real keys); it only has to be tamper-proof against clients
and look like what the real API returns. Policy conditions (`eq`, `starts-with`, exact-match objects) are
checked against the form fields; form fields without a condition are accepted (the real API's fields are
not known exactly, and the official SDK only echoes what it was given).
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any, Final
from xml.sax.saxutils import escape

import attrs
from aiohttp import web

__all__ = [
    "BUCKET",
    "FILENAME_VARIABLE",
    "PolicyGrant",
    "S3Error",
    "entity_too_large",
    "make_presigned_fields",
    "s3_error_response",
    "verify_presigned_fields",
    "verify_presigned_form",
]

BUCKET: Final = "user-files-upload"
_REGION: Final = "eu-central-1"
_SERVICE: Final = "s3"
_ALGORITHM: Final = "AWS4-HMAC-SHA256"
FILENAME_VARIABLE: Final = "${filename}"
"""S3's placeholder in a POST's `key` field for the file part's filename."""
# Fields every post must carry, in the order S3 complains about them.
_REQUIRED: Final = ("policy", "x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
# XML 1.0 cannot carry C0 control characters other than tab, newline and carriage return.
_XML_UNSAFE: Final = {code: "?" for code in range(0x20) if chr(code) not in "\t\n\r"}


class S3Error(Exception):
    """An error answer of the S3 endpoint, rendered by `s3_error_response`.

    Attributes:
        code: The S3 error code, e.g. `AccessDenied`.
        message: The human-readable message.
        status: The HTTP status.
        details: Extra elements of the XML body, e.g. `{"MaxSizeAllowed": "1024"}`, in order.
    """

    def __init__(
        self, code: str, message: str, status: int, *, details: Mapping[str, str] | None = None
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status
        self.details: dict[str, str] = dict(details or {})


@attrs.frozen
class PolicyGrant:
    """What a verified post may do: write keys under `key_prefix`, until `expires_at`, up to `max_bytes`."""

    key_prefix: str
    expires_at: datetime
    max_bytes: int


def make_presigned_fields(
    secret: bytes, key_prefix: str, expires_at: datetime, max_bytes: int, *, now: datetime | None = None
) -> dict[str, str]:
    """The form fields of a presigned POST for all objects of one upload session.

    Args:
        secret: The emulator's signing secret.
        key_prefix: Every object key must start with it (`<workspace>/<session_id>/`).
        expires_at: When the policy expires (timezone-aware).
        max_bytes: The largest object a post may carry.
        now: The signing time (`x-amz-date`); defaults to the current time.

    Returns:
        `key` (with S3's `${filename}` placeholder), `x-amz-algorithm`, `x-amz-credential`, `x-amz-date`,
        `policy` (base64 JSON) and `x-amz-signature`, in this order.
    """
    signed_at = _utc(now or datetime.now(timezone.utc), "now")
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    credential = f"{_access_key(secret)}/{amz_date[:8]}/{_REGION}/{_SERVICE}/aws4_request"
    document = {
        "expiration": _utc(expires_at, "expires_at").strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "conditions": [
            {"bucket": BUCKET},
            ["starts-with", "$key", key_prefix],
            ["content-length-range", 0, max_bytes],
            {"x-amz-algorithm": _ALGORITHM},
            {"x-amz-credential": credential},
            {"x-amz-date": amz_date},
        ],
    }
    policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode("ascii")
    return {
        "key": key_prefix + FILENAME_VARIABLE,
        "x-amz-algorithm": _ALGORITHM,
        "x-amz-credential": credential,
        "x-amz-date": amz_date,
        "policy": policy,
        "x-amz-signature": _signature(secret, credential, policy),
    }


def verify_presigned_fields(secret: bytes, fields: Mapping[str, str], *, now: datetime) -> PolicyGrant:
    """Check the form fields of an object POST like S3 would.

    Field names are case-insensitive, as in S3. `key` may still contain `${filename}`; the caller
    substitutes the file name and checks the final key against `PolicyGrant.key_prefix` itself.

    Args:
        secret: The emulator's signing secret.
        fields: The text fields of the multipart form (not the file).
        now: The current time (timezone-aware).

    Returns:
        What the policy allows.

    Raises:
        S3Error: `InvalidArgument` (400) for a missing field, `SignatureDoesNotMatch` (403) for a wrong
            signature or a tampered policy, `InvalidPolicyDocument` (400) for an unreadable policy,
            `AccessDenied` (403) for an expired policy or a failed condition.
    """
    lowered = {name.lower(): value for name, value in fields.items()}
    if "key" not in lowered:
        raise S3Error(
            "InvalidArgument",
            "Bucket POST must contain a field named 'key'.  If it is specified, please check the order of the fields.",
            400,
        )
    if "policy" not in lowered and "x-amz-signature" not in lowered:
        raise S3Error("AccessDenied", "Access Denied", 403)  # an anonymous post to a private bucket
    for name in _REQUIRED:
        if name not in lowered:
            raise S3Error("InvalidArgument", f"Bucket POST must contain a field named '{name}'.", 400)
    if lowered["x-amz-algorithm"] != _ALGORITHM:
        raise S3Error(
            "InvalidArgument",
            f"Unsupported x-amz-algorithm {lowered['x-amz-algorithm']!r}; only {_ALGORITHM} is supported.",
            400,
        )
    policy = _verified_policy(
        secret, lowered["policy"], lowered["x-amz-credential"], lowered["x-amz-signature"]
    )
    if _utc(now, "now") >= policy.grant.expires_at:
        raise S3Error("AccessDenied", "Invalid according to Policy: Policy expired.", 403)
    for condition in policy.conditions:
        if not condition.holds(lowered):
            raise S3Error(
                "AccessDenied", f"Invalid according to Policy: Policy Condition failed: {condition}", 403
            )
    return policy.grant


# verify_presigned_form's cache: (secret, form fields in order) -> (grant, expiry in us since the epoch).
_GRANTS: dict[tuple[bytes, tuple[tuple[str, str], ...]], tuple[PolicyGrant, int]] = {}
_GRANTS_SIZE = 1024
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECOND = timedelta(microseconds=1)


def verify_presigned_form(secret: bytes, fields: Sequence[tuple[str, str]], *, now_us: int) -> PolicyGrant:
    """`verify_presigned_fields` for a form's fields in body order (later duplicates win) at `now_us`.

    Every post of a session sends the same fields, so a grant is cached per exact field list; a cached
    grant is only re-checked against the clock. Failures are not cached (they are rare, and their order
    of checks must stay the full check's).

    Raises:
        S3Error: As `verify_presigned_fields`.
    """
    key = (secret, tuple(fields))
    cached = _GRANTS.get(key)
    if cached is not None and now_us < cached[1]:
        return cached[0]
    now = _EPOCH + now_us * _MICROSECOND
    grant = verify_presigned_fields(secret, dict(fields), now=now)
    if len(_GRANTS) >= _GRANTS_SIZE:
        _GRANTS.clear()
    _GRANTS[key] = (grant, (grant.expires_at - _EPOCH) // _MICROSECOND)
    return grant


def entity_too_large(max_bytes: int, proposed_size: int | None = None) -> S3Error:
    """The error S3 gives for an object larger than the policy's `content-length-range`."""
    details = {} if proposed_size is None else {"ProposedSize": str(proposed_size)}
    details["MaxSizeAllowed"] = str(max_bytes)
    return S3Error(
        "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size", 400, details=details
    )


def s3_error_response(err: S3Error, resource: str, request_id: str | None = None) -> web.Response:
    """An S3-shaped XML error answer: `<Error><Code>..</Code><Message>..</Message>...</Error>`.

    Args:
        err: The error.
        resource: The request path, shown as `<Resource>`.
        request_id: Shown as `<RequestId>` and `x-amz-request-id`; a random one by default.
    """
    request_id = request_id or secrets.token_hex(8).upper()
    elements = {"Code": err.code, "Message": err.message, **err.details}
    elements.update(Resource=resource, RequestId=request_id)
    body = "".join(f"<{tag}>{_xml_text(value)}</{tag}>" for tag, value in elements.items())
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>{body}</Error>'
    return web.Response(
        status=err.status,
        body=xml.encode("utf-8", "replace"),
        content_type="application/xml",
        headers={"x-amz-request-id": request_id},
    )


# --------------------------------------------------------------------------------------------------


@attrs.frozen
class _Condition:
    operator: str  # "eq" or "starts-with"
    field: str  # lower-cased, without "$"
    value: str

    def holds(self, fields: Mapping[str, str]) -> bool:
        given = fields.get(self.field)
        if given is None:
            return False
        return given == self.value if self.operator == "eq" else given.startswith(self.value)

    def __str__(self) -> str:
        return json.dumps([self.operator, f"${self.field}", self.value])


@attrs.frozen
class _Policy:
    grant: PolicyGrant
    conditions: tuple[_Condition, ...]


@functools.lru_cache(maxsize=1024)
def _verified_policy(secret: bytes, policy: str, credential: str, signature: str) -> _Policy:
    """Check the signature and decode the policy; cached because a session reuses the same fields."""
    expected = _signature(secret, credential, policy)
    if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "backslashreplace")):
        raise S3Error(
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided."
            " Check your key and signing method.",
            403,
        )
    try:
        return _decode_policy(policy)
    except (binascii.Error, ValueError, KeyError, TypeError, AttributeError):
        raise S3Error("InvalidPolicyDocument", "Invalid Policy: Invalid JSON.", 400) from None


def _decode_policy(policy: str) -> _Policy:
    document = json.loads(base64.b64decode(policy, validate=True))
    expiration = datetime.fromisoformat(document["expiration"].replace("Z", "+00:00"))
    conditions: list[_Condition] = []
    key_prefix: str | None = None
    max_bytes: int | None = None
    for raw in document["conditions"]:
        if isinstance(raw, dict) and len(raw) == 1:
            ((name, value),) = raw.items()
            if name != "bucket":  # the bucket is the URL's, not a form field
                conditions.append(_Condition("eq", str(name).lower(), str(value)))
        elif isinstance(raw, list) and len(raw) == 3 and raw[0] == "content-length-range":
            max_bytes = int(raw[2])
        elif isinstance(raw, list) and len(raw) == 3 and raw[0] in ("eq", "starts-with"):
            operator, name, value = raw
            conditions.append(_Condition(operator, str(name).lstrip("$").lower(), str(value)))
            if operator == "starts-with" and name == "$key":
                key_prefix = str(value)
        else:
            raise ValueError(f"unknown condition {raw!r}")
    if key_prefix is None or max_bytes is None or expiration.tzinfo is None:
        raise ValueError("no key prefix, size range or timezone-aware expiration")
    return _Policy(PolicyGrant(key_prefix, expiration, max_bytes), tuple(conditions))


def _signature(secret: bytes, credential: str, policy: str) -> str:
    """SigV4 for POST policies: HMAC chain over the credential's scope, then HMAC of the base64 policy."""
    _, _, scope = credential.partition("/")
    key = b"AWS4" + secret
    for part in scope.split("/"):
        key = hmac.new(key, part.encode("utf-8", "backslashreplace"), hashlib.sha256).digest()
    return hmac.new(key, policy.encode("utf-8", "backslashreplace"), hashlib.sha256).hexdigest()


def _access_key(secret: bytes) -> str:
    """A stable, non-secret stand-in for an AWS access key id (a hash, so it reveals nothing)."""
    return "ASIA" + hashlib.sha256(b"access-key:" + secret).hexdigest()[:16].upper()


def _utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(timezone.utc)


def _xml_text(value: Any) -> str:
    return escape(str(value)).translate(_XML_UNSAFE)
