"""Fault injection for the emulator: error answers, dropped connections and latency, per route.

A `FaultSpec` says what to inject on which route and how often; a `FaultInjector` holds the active specs
and decides per request with a seeded RNG, so the same seed and the same request order give the same
faults. Specs are tried in order: each one that matches the route, has injections left and wins its
`rate` draw counts one injection; its latency is added, and the first one with a `status` or `drop`
decides the outcome (later specs are not drawn for that request).

CLI form (`--fault`, repeatable): `route=s3_post,rate=0.1,status=503,retry_after=1`, plus `drop=true`,
`latency_s=0.05`, `count=3`, `lose_response=true` (the request is handled, e.g. the object stored, then
the connection is closed before the answer: the client cannot tell whether it went through). Admin JSON form: the same names as an object (`FaultSpec.to_dict`).
"""

from __future__ import annotations

import asyncio
import json
import math
import random
from collections.abc import Awaitable, Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any, Final

import attrs
from aiohttp import web

from deepset_cloud.emulator.s3.policy import S3Error, s3_error_response

__all__ = ["ROUTES", "FaultDecision", "FaultInjector", "FaultSpec", "parse_fault_option"]

ROUTES: Final = (
    "create_session",
    "close_session",
    "session_status",
    "list_sessions",
    "list_files",
    "direct_upload",
    "download",
    "s3_post",
    "update_meta",
    "delete_file",
)
_ANY_ROUTE: Final = "*"
_FIELDS: Final = ("route", "rate", "status", "retry_after", "drop", "latency_s", "count", "lose_response")
# S3 error codes for injected statuses on `s3_post` (what real S3 answers with that status).
_S3_CODES: Final[dict[int, tuple[str, str]]] = {
    400: (
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the timeout period.",
    ),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchBucket", "The specified bucket does not exist"),
    408: (
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the timeout period.",
    ),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    501: ("NotImplemented", "A header you provided implies functionality that is not implemented."),
    503: ("SlowDown", "Please reduce your request rate."),
    504: (
        "RequestTimeout",
        "Your socket connection to the server was not read from or written to within the timeout period.",
    ),
}
_TRUE: Final = frozenset({"1", "true", "yes", "on"})
_FALSE: Final = frozenset({"0", "false", "no", "off"})


def _int_to_float(value: object) -> object:
    """JSON and keyword callers pass `1` for `1.0`; anything else reaches validation unchanged."""
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _int_to_float_or_none(value: object) -> object:
    return None if value is None else _int_to_float(value)


@attrs.frozen
class FaultSpec:
    """What to inject on which route, and how often.

    Attributes:
        route: One of `ROUTES`, or `*` for all of them.
        rate: Probability (0..1) that a matching request gets the fault.
        status: HTTP status (400..599) to answer with instead of the real handler.
        retry_after: Seconds to send as `Retry-After` with `status`.
        drop: Close the connection without any response.
        latency_s: Delay added before the outcome (or before the real handler).
        count: Maximum number of injections; unlimited when `None`.
        lose_response: Handle the request, then close the connection without sending the answer.

    Raises:
        ValueError: A value is out of range or of the wrong type, or the spec has no effect.
    """

    route: str
    rate: float = attrs.field(default=1.0, converter=_int_to_float)
    status: int | None = None
    retry_after: float | None = attrs.field(default=None, converter=_int_to_float_or_none)
    drop: bool = False
    latency_s: float = attrs.field(default=0.0, converter=_int_to_float)
    count: int | None = None
    lose_response: bool = False

    def __attrs_post_init__(self) -> None:
        if self.route != _ANY_ROUTE and self.route not in ROUTES:
            raise ValueError(f"route must be one of {', '.join(ROUTES)} or '*', not {self.route!r}")
        _check_number("rate", self.rate, low=0.0, high=1.0)
        _check_number("latency_s", self.latency_s, low=0.0)
        if self.retry_after is not None:
            _check_number("retry_after", self.retry_after, low=0.0)
        if self.status is not None and (not _is_int(self.status) or not 400 <= self.status <= 599):
            raise ValueError(f"status must be an integer from 400 to 599, not {self.status!r}")
        if self.count is not None and (not _is_int(self.count) or self.count < 1):
            raise ValueError(f"count must be a positive integer, not {self.count!r}")
        if not isinstance(self.drop, bool):
            raise ValueError(f"drop must be true or false, not {self.drop!r}")
        if not isinstance(self.lose_response, bool):
            raise ValueError(f"lose_response must be true or false, not {self.lose_response!r}")
        if self.drop and self.status is not None:
            raise ValueError("a fault either drops the connection or answers with a status, not both")
        if self.lose_response and (self.drop or self.status is not None):
            raise ValueError("a fault that loses the response cannot also drop or answer with a status")
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs a status to be sent with")
        if self.status is None and not self.drop and not self.lose_response and self.latency_s == 0:
            raise ValueError(
                "a fault needs an effect: status, drop=true, lose_response=true or latency_s > 0"
            )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FaultSpec:
        """A spec from its JSON object form (the admin API); unknown keys are errors."""
        unknown = sorted(set(data) - set(_FIELDS))
        if unknown:
            raise ValueError(f"unknown fault field(s) {', '.join(unknown)}; expected {', '.join(_FIELDS)}")
        if "route" not in data:
            raise ValueError("a fault needs a route")
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The JSON object form, with every field."""
        return attrs.asdict(self)


def parse_fault_option(text: str) -> FaultSpec:
    """A spec from the CLI form `route=s3_post,rate=0.1,status=503,retry_after=1`.

    `drop` alone means `drop=true`. Raises ValueError naming the bad part.
    """
    values: dict[str, Any] = {}
    for part in (piece.strip() for piece in text.split(",")):
        if not part:
            continue
        name, has_value, raw = (item.strip() for item in part.partition("="))
        if not has_value and name in ("drop", "lose_response"):
            raw = "true"
        elif not has_value or not raw:
            raise ValueError(f"fault option {part!r} in {text!r} must look like name=value")
        if name not in _FIELDS:
            raise ValueError(f"unknown fault option {name!r} in {text!r}; expected {', '.join(_FIELDS)}")
        if name in values:
            raise ValueError(f"fault option {name!r} is given twice in {text!r}")
        values[name] = _parse_value(name, raw)
    if "route" not in values:
        raise ValueError(f"fault {text!r} needs a route (route=NAME, one of {', '.join(ROUTES)} or '*')")
    return FaultSpec(**values)


@attrs.define
class _Active:
    spec: FaultSpec
    matched: int = 0  # requests on the spec's route(s) while it had injections left
    injected: int = 0

    @property
    def exhausted(self) -> bool:
        return self.spec.count is not None and self.injected >= self.spec.count


@attrs.frozen
class FaultDecision:
    """What to do with one request: wait `latency_s`, then answer `status`, drop, or proceed."""

    latency_s: float = 0.0
    spec: FaultSpec | None = None  # the spec whose status or drop decides the outcome

    @property
    def proceeds(self) -> bool:
        return self.spec is None


class FaultInjector:
    """The active fault specs of an emulator, with a seeded RNG and per-spec counters.

    Not thread-safe: use it from the emulator's event loop.
    """

    def __init__(self, seed: int = 0, specs: Iterable[FaultSpec] = ()) -> None:
        self._seed = seed
        self._random = random.Random(seed)
        self._active: list[_Active] = []
        self.set(specs)

    @property
    def specs(self) -> tuple[FaultSpec, ...]:
        """The active specs, in the order they are tried."""
        return tuple(active.spec for active in self._active)

    @property
    def has_specs(self) -> bool:
        """Whether any spec is active (cheap: the middleware asks on every request)."""
        return bool(self._active)

    def set(self, specs: Iterable[FaultSpec]) -> None:
        """Replace the active specs; counters and the random sequence start over from the seed."""
        specs = list(specs)
        for spec in specs:
            if not isinstance(spec, FaultSpec):
                raise TypeError(f"expected FaultSpec, got {type(spec).__name__}")
        self._active = [_Active(spec) for spec in specs]
        self._random = random.Random(self._seed)

    def clear(self) -> None:
        """Remove all specs."""
        self.set(())

    def snapshot(self) -> dict[str, Any]:
        """Counters for the stats endpoint: per spec how often it matched and was injected."""
        return {
            "seed": self._seed,
            "injected_total": sum(active.injected for active in self._active),
            "specs": [
                {
                    **active.spec.to_dict(),
                    "matched": active.matched,
                    "injected": active.injected,
                    "remaining": None if active.spec.count is None else active.spec.count - active.injected,
                }
                for active in self._active
            ],
        }

    def decide(self, route: str) -> FaultDecision:
        """Draw the faults for one request on `route` (no I/O); the counters are updated."""
        latency = 0.0
        for active in self._active:
            spec = active.spec
            if spec.route not in (route, _ANY_ROUTE) or active.exhausted:
                continue
            active.matched += 1
            if self._random.random() >= spec.rate:
                continue
            active.injected += 1
            latency += spec.latency_s
            if spec.drop or spec.lose_response or spec.status is not None:
                return FaultDecision(latency, spec)
        return FaultDecision(latency)

    async def maybe_inject(
        self,
        route: str,
        request: web.Request,
        handler: Callable[[web.Request], Awaitable[web.StreamResponse]] | None = None,
    ) -> web.StreamResponse | None:
        """Apply the faults for one request: sleep, then answer, drop, or return None to proceed.

        For a drop the connection is closed before anything is written; the returned response only ends
        aiohttp's handling (writing it fails quietly), so the client sees a disconnect. A lost response
        runs `handler` first (the request takes effect), then closes the connection the same way.
        """
        decision = self.decide(route)
        if decision.latency_s > 0:
            await asyncio.sleep(decision.latency_s)
        spec = decision.spec
        if spec is None:
            return None
        if spec.lose_response and handler is not None:
            await handler(request)
        if spec.drop or spec.lose_response:
            transport = request.transport
            if transport is not None:
                transport.close()
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE, text="dropped by fault injection")
        assert spec.status is not None
        return _error_response(route, spec.status, spec.retry_after, request)


def _error_response(route: str, status: int, retry_after: float | None, request: web.Request) -> web.Response:
    headers = {} if retry_after is None else {"Retry-After": _seconds(retry_after)}
    if route == "s3_post":
        default_code = "InternalError" if status >= 500 else "InvalidRequest"
        code, message = _S3_CODES.get(status, (default_code, _reason(status)))
        response = s3_error_response(S3Error(code, message, status), request.path)
        response.headers.update(headers)
        return response
    body = json.dumps({"errors": [f"{_reason(status)} (injected by the emulator's fault injection)"]})
    return web.Response(status=status, text=body, content_type="application/json", headers=headers)


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP {status}"


def _seconds(value: float) -> str:
    """`Retry-After` is whole seconds by RFC 9110; fractions are kept (clients here parse floats)."""
    return str(int(value)) if value.is_integer() else f"{value:.3f}".rstrip("0")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_number(name: str, value: object, *, low: float, high: float = math.inf) -> None:
    if not isinstance(value, float) or not math.isfinite(value) or not low <= value <= high:
        bounds = f"from {low:g} to {high:g}" if math.isfinite(high) else f">= {low:g}"
        raise ValueError(f"{name} must be a finite number {bounds}, not {value!r}")


def _parse_value(name: str, raw: str) -> object:
    try:
        if name == "route":
            return raw
        if name in ("drop", "lose_response"):
            lowered = raw.lower()
            if lowered not in _TRUE | _FALSE:
                raise ValueError
            return lowered in _TRUE
        if name in ("status", "count"):
            return int(raw)
        return float(raw)
    except ValueError:
        kind = {
            "drop": "true or false",
            "lose_response": "true or false",
            "status": "an integer",
            "count": "an integer",
        }.get(name, "a number")
        raise ValueError(f"fault option {name}={raw!r} must be {kind}") from None
