"""Timestamps of the emulator: integer microseconds since the epoch (UTC), formatted like the real API.

The real API emits `2024-02-03T07:58:54.730474Z` (older deployments `+00:00`); Python < 3.11 only parses
0, 3 or 6 fractional digits, so we always emit exactly 6. Cursor values come back in whatever form the
client re-serialised them (`isoformat()` of an aware datetime drops a zero fraction, a `+` may arrive as a
space when the client did not percent-encode it), so parsing is deliberately lenient.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime, timedelta, timezone
from typing import Literal

__all__ = ["TimestampStyle", "format_us", "parse_to_us"]

TimestampStyle = Literal["Z", "+00:00"]

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ISO_RE = re.compile(
    r"""^\s*(?P<date>\d{4}-\d{2}-\d{2})
    [T\ ](?P<h>\d{2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<frac>\d{1,9}))?)?
    \s*(?P<tz>Z|z|[+\-\ ]\d{2}(?::?\d{2})?)?\s*$""",
    re.VERBOSE,
)


def format_us(us: int, style: TimestampStyle = "Z") -> str:
    """Format microseconds as ISO 8601 UTC with exactly 6 fractional digits and the given suffix."""
    seconds, fraction = divmod(us, 1_000_000)
    return f"{_second(seconds)}.{fraction:06d}{'Z' if style == 'Z' else '+00:00'}"


@functools.lru_cache(maxsize=1024)
def _second(seconds: int) -> str:
    # A listing page formats many times within the same second; strftime is most of the cost.
    return (_EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")


def parse_to_us(text: str) -> int:
    """Parse an ISO 8601 datetime in any form a client may send back; naive values are UTC.

    Raises:
        ValueError: The text is not a datetime.
    """
    match = _ISO_RE.match(text)
    if match is None:
        raise ValueError(f"not an ISO 8601 datetime: {text!r}")
    frac = (match["frac"] or "").ljust(6, "0")[:6]
    base = datetime.fromisoformat(f"{match['date']}T{match['h']}:{match['m']}:{match['s'] or '00'}")
    moment = base.replace(microsecond=int(frac), tzinfo=timezone.utc)
    tz = match["tz"]
    if tz and tz not in ("Z", "z"):
        sign = -1 if tz[0] == "-" else 1  # a space is a "+" that lost its percent-encoding
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        moment -= sign * offset
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
