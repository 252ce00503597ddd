"""The delete guard: a sync deletes at most `max_delete` workspace files unless the limit is raised.

A mistaken path (an unmounted share, an empty folder) makes every workspace file look gone; the guard
refuses such a sync before anything in the workspace changes. `max_delete` is a count (an `int`) or a
fraction of the files listed in the workspace (a `float` from 0.0 to 1.0).
"""

from __future__ import annotations

import math

from deepset_cloud.errors import ConfigurationError, DeleteGuardError

__all__ = ["DEFAULT_MAX_DELETE", "check_delete_guard", "delete_limit", "validate_max_delete"]

DEFAULT_MAX_DELETE = 0.5
"""By default a sync may delete at most half of the workspace's files."""


def validate_max_delete(max_delete: object) -> int | float:
    """Return `max_delete` if it is a count >= 0 or a fraction in [0, 1].

    Raises:
        ConfigurationError: it is neither.
    """
    if isinstance(max_delete, bool) or not isinstance(max_delete, (int, float)):
        raise ConfigurationError(
            f"max_delete must be an int (a count) or a float (a fraction), not {max_delete!r}"
        )
    if isinstance(max_delete, int):
        if max_delete < 0:
            raise ConfigurationError(f"max_delete must not be negative, got {max_delete}")
        return max_delete
    if not 0.0 <= max_delete <= 1.0 or math.isnan(max_delete):
        raise ConfigurationError(f"max_delete as a fraction must be within 0.0 and 1.0, got {max_delete}")
    return max_delete


def delete_limit(max_delete: int | float, remote_files: int) -> int:
    """The most files a sync may delete from a workspace that holds `remote_files` files."""
    if isinstance(max_delete, int):
        return max_delete
    return math.floor(max_delete * remote_files + 1e-9)


def check_delete_guard(planned: int, remote_files: int, max_delete: int | float) -> None:
    """Raise `DeleteGuardError` when `planned` deletions exceed the limit.

    Raises:
        DeleteGuardError: too many deletions; nothing has been changed yet.
    """
    limit = delete_limit(max_delete, remote_files)
    if planned <= limit:
        return
    share = f"{planned / remote_files:.0%} of " if remote_files else ""
    raise DeleteGuardError(
        f"sync would delete {planned} file(s) ({share}{remote_files} in the workspace), more than "
        f"max_delete={max_delete!r} allows ({limit}); nothing was changed. Check the paths, or raise "
        "max_delete (a count, or a fraction such as 1.0) if this is intended.",
        planned_deletions=planned,
        remote_files=remote_files,
        limit=limit,
    )
