"""The reserved metadata key that carries a file's content hash, and how metadata is compared.

`sync` stores the SHA-256 of every file it uploads in the file's metadata under `CONTENT_HASH_KEY`, so
any machine can tell whether its copy differs from the workspace's without downloading anything. The
key is an implementation detail of sync: `list_files` and `download` hide it from the user's metadata,
and a sidecar that sets it is refused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

__all__ = [
    "CONTENT_HASH_KEY",
    "META_REMOVE_VALUE",
    "canonical_meta",
    "meta_patch",
    "split_reserved",
    "strip_reserved",
]

CONTENT_HASH_KEY = "_deepset_cloud_sha256"
"""Metadata key under which `sync` records the SHA-256 (hex) of a file's content."""

META_REMOVE_VALUE = "None"
"""The value that removes a key in `POST files/update-meta` (as deepset documents it)."""


def strip_reserved(meta: dict[str, Any]) -> dict[str, Any]:
    """Return `meta` without the reserved key (the same object when it has none: the common case)."""
    if CONTENT_HASH_KEY not in meta:
        return meta
    return {key: value for key, value in meta.items() if key != CONTENT_HASH_KEY}


def split_reserved(meta: Mapping[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """Return the stored content hash (None if absent or not a string) and the user's metadata."""
    stored = meta.get(CONTENT_HASH_KEY)
    user = {key: value for key, value in meta.items() if key != CONTENT_HASH_KEY}
    return (stored if isinstance(stored, str) else None), user


def canonical_meta(meta: Mapping[str, Any]) -> str:
    """Return one JSON text per metadata value: equal dicts give equal texts, whatever their key order."""
    return json.dumps(meta, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def meta_patch(local: Mapping[str, Any], remote: Mapping[str, Any]) -> dict[str, Any]:
    """Return the update-meta body that turns the `remote` user metadata into `local`.

    The endpoint merges, so keys that are gone locally are sent with `META_REMOVE_VALUE`. The reserved
    key is never part of a patch (it stays as the upload stored it).
    """
    patch = {
        key: value
        for key, value in local.items()
        if key not in remote or _json(remote[key]) != _json(value)  # 1 == True in Python, not in JSON
    }
    for key in remote:
        if key not in local and key != CONTENT_HASH_KEY:
            patch[key] = META_REMOVE_VALUE
    patch.pop(CONTENT_HASH_KEY, None)
    return patch


def _json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
