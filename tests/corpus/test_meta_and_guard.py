"""Pure logic of sync: the reserved key, metadata comparison and patches, the delete guard."""

from __future__ import annotations

import pytest

from deepset_cloud._corpus.guard import check_delete_guard, delete_limit, validate_max_delete
from deepset_cloud._corpus.meta import (
    CONTENT_HASH_KEY,
    META_REMOVE_VALUE,
    canonical_meta,
    meta_patch,
    split_reserved,
    strip_reserved,
)
from deepset_cloud.errors import ConfigurationError, DeleteGuardError


def test_strip_reserved_hides_only_the_hash_key() -> None:
    meta = {"a": 1, CONTENT_HASH_KEY: "abc"}
    assert strip_reserved(meta) == {"a": 1}
    plain = {"a": 1}
    assert strip_reserved(plain) is plain


def test_split_reserved_ignores_a_hash_that_is_not_a_string() -> None:
    assert split_reserved({CONTENT_HASH_KEY: "h", "b": 2}) == ("h", {"b": 2})
    assert split_reserved({CONTENT_HASH_KEY: 5}) == (None, {})


def test_canonical_meta_ignores_key_order_but_not_types() -> None:
    assert canonical_meta({"b": 1, "a": [1, 2]}) == canonical_meta({"a": [1, 2], "b": 1})
    assert canonical_meta({"a": 1}) != canonical_meta({"a": True})
    assert canonical_meta({"a": "é"}) == '{"a":"é"}'


def test_meta_patch_sets_changed_keys_and_removes_gone_ones() -> None:
    local = {"keep": 1, "changed": "new", "added": [1], "flag": True}
    remote = {"keep": 1, "changed": "old", "gone": "x", "flag": 1, CONTENT_HASH_KEY: "h"}
    assert meta_patch(local, remote) == {
        "changed": "new",
        "added": [1],
        "flag": True,
        "gone": META_REMOVE_VALUE,
    }


def test_meta_patch_never_touches_the_reserved_key() -> None:
    assert meta_patch({CONTENT_HASH_KEY: "x"}, {}) == {}


@pytest.mark.parametrize(
    ("max_delete", "remote", "limit"), [(3, 100, 3), (0.5, 7, 3), (1.0, 7, 7), (0.0, 9, 0)]
)
def test_delete_limit(max_delete: float, remote: int, limit: int) -> None:
    assert delete_limit(max_delete, remote) == limit


def test_guard_passes_at_the_limit_and_refuses_above_it() -> None:
    check_delete_guard(5, 10, 0.5)
    check_delete_guard(0, 0, 0.5)
    with pytest.raises(DeleteGuardError) as caught:
        check_delete_guard(6, 10, 0.5)
    assert (caught.value.planned_deletions, caught.value.remote_files, caught.value.limit) == (6, 10, 5)
    assert "max_delete" in str(caught.value)
    with pytest.raises(DeleteGuardError):
        check_delete_guard(4, 100, 3)


@pytest.mark.parametrize("bad", [-1, 1.5, -0.1, float("nan"), True, "10", None])
def test_max_delete_must_be_a_count_or_a_fraction(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        validate_max_delete(bad)


def test_max_delete_valid_values_pass_through() -> None:
    assert validate_max_delete(0) == 0
    assert validate_max_delete(0.25) == 0.25
