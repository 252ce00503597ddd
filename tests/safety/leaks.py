"""Find a secret anywhere an error report could show it: messages, args, attributes, traceback locals.

`pytest -l`, Sentry and similar tools print the repr of every local of every frame of an exception's
traceback, for the exception and each one in its `__cause__`/`__context__` chain. `places_showing`
walks the same ground and says where a secret would be printed.
"""

from __future__ import annotations

import reprlib
from types import TracebackType

_repr = reprlib.Repr()
_repr.maxstring = _repr.maxother = _repr.maxlong = 1_000_000
_repr.maxlist = _repr.maxdict = _repr.maxtuple = _repr.maxset = 10_000
_repr.maxlevel = 8


def _show(value: object) -> str:
    try:
        return repr(value) + " " + _repr.repr(value)
    except Exception as exc:  # a broken repr shows nothing
        return f"<repr failed: {type(exc).__name__}>"


def _frames(tb: TracebackType | None, skip_file: str | None) -> list[tuple[str, dict[str, object]]]:
    found = []
    while tb is not None:
        code = tb.tb_frame.f_code
        if code.co_filename != skip_file:  # the test's own frame holds what the test passed in
            found.append((f"{code.co_filename}:{tb.tb_lineno} {code.co_name}", dict(tb.tb_frame.f_locals)))
        tb = tb.tb_next
    return found


def exception_chain(error: BaseException) -> list[BaseException]:
    """The error and every exception reachable through `__cause__`, `__context__` and groups."""
    seen: dict[int, BaseException] = {}
    pending = [error]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen[id(current)] = current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        pending += list(getattr(current, "exceptions", ()))
        for value in vars(current).values() if hasattr(current, "__dict__") else ():
            if isinstance(value, BaseException):
                pending.append(value)
    return list(seen.values())


def places_showing(error: BaseException, secret: str, *, skip_file: str | None = None) -> list[str]:
    """Where `secret` would be printed by a report of `error` (empty when nowhere)."""
    places = []
    for exc in exception_chain(error):
        name = type(exc).__name__
        shown = {
            "str": str(exc),
            "repr": _show(exc),
            "args": _show(exc.args),
            "attributes": _show(vars(exc)) if hasattr(exc, "__dict__") else "",
        }
        places += [f"{name}.{what}" for what, text in shown.items() if secret in text]
        for where, local_vars in _frames(exc.__traceback__, skip_file):
            places += [f"{name} at {where}: {k}" for k, v in local_vars.items() if secret in _show(v)]
    return places
