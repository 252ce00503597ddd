"""What a forked child inherited from its parent and must never close, finalize or reuse.

After `os.fork()` the child holds copies of the parent's event loops, aiohttp sessions and sockets,
and shares the parent's epoll instance. Closing (or garbage-collecting) an inherited transport in the
child unregisters the *parent's* socket from that shared epoll, and the parent then waits forever for
an answer it is never told about. So the child hands such objects to `keep_forever`: they stay
referenced until the process ends, and the interpreter's shutdown never finalizes them either.
"""

from __future__ import annotations

import logging

__all__ = ["keep_forever"]

logger = logging.getLogger("deepset_cloud")

_KEPT: list[object] = []
_pinned = False


def keep_forever(obj: object) -> None:
    """Keep `obj` alive, unfinalized, until the process ends (for objects a forked child inherited)."""
    global _pinned
    if not _pinned:
        _pinned = True
        # Module teardown at exit drops the list's last reference and would finalize its contents;
        # one reference nobody owns keeps it (and so them) out of reach of teardown and the GC.
        try:
            import ctypes

            ctypes.pythonapi.Py_IncRef(ctypes.py_object(_KEPT))
        except (ImportError, AttributeError, OSError):  # not CPython: best effort
            logger.debug("cannot pin inherited objects; they may be finalized at exit", exc_info=True)
    _KEPT.append(obj)
