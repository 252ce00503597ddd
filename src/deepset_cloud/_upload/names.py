"""The one rule from a local name to a stored name, on every upload path.

A file is stored under its name exactly as given (a path's base name, or a `DeepsetCloudFile`'s `name`):
nothing is replaced or normalised, on the direct path (`POST files`) and on the session path (storage
posts) alike, so `a#b.txt`, `a%b.txt`, `a[b.txt` and `pct%20.txt` keep their names whatever the number of
files uploaded with them. On the wire the name travels percent-encoded where the protocol decodes it once
(storage posts, and `filename*` of `POST files`), so no character is taken for an escape.

A name that cannot be stored as one object under that name is refused before any request: an empty name,
`.` or `..`, a name with a path separator (`/` or `\\`) or a control character. Path uploads report such
files as skipped; in-memory uploads raise `ConfigurationError` naming them. Two files are never stored
under one name by the same upload: path uploads keep the most recently modified of several files with one
base name and report the others as skipped; in-memory uploads put repeated names in different sessions.
"""

from __future__ import annotations

import re

__all__ = ["name_problem"]

_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f]")


def name_problem(name: str) -> str | None:
    """Return why `name` cannot be stored as given, or None if it is stored verbatim."""
    if not name.strip():
        return "the name is empty"
    if name in (".", ".."):
        return f"{name!r} is not a file name"
    match = _FORBIDDEN.search(name)
    if match is not None:
        what = "a path separator" if match.group() in "/\\" else "a control character"
        return f"the name contains {what} ({match.group()!r})"
    return None
