"""Pure helpers: timestamp formatting/parsing and config validation (no server)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, strategies as st

from deepset_cloud.emulator import EmulatorConfig
from deepset_cloud.emulator.config import evolve_config
from deepset_cloud.emulator.timestamps import format_us, parse_to_us

_US = 1_706_946_534_730_474  # 2024-02-03T07:48:54.730474Z


def test_format_always_has_six_fraction_digits() -> None:
    assert format_us(_US) == "2024-02-03T07:48:54.730474Z"
    assert format_us(_US, "+00:00") == "2024-02-03T07:48:54.730474+00:00"
    assert format_us(1_706_946_534_000_000) == "2024-02-03T07:48:54.000000Z"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-03T07:48:54.730474Z", _US),
        ("2024-02-03T07:48:54.730474+00:00", _US),
        ("2024-02-03T07:48:54.730474 00:00", _US),  # '+' decoded to a space
        ("2024-02-03T07:48:54.730474", _US),  # naive = UTC
        ("2024-02-03 07:48:54.730474", _US),
        ("2024-02-03T09:48:54.730474+02:00", _US),
        ("2024-02-03T02:48:54.730474-05:00", _US),
        ("2024-02-03T07:48:54.730474000Z", _US),  # nanoseconds are cut
        ("2024-02-03T07:48:54.7Z", _US - 30_474),
        ("2024-02-03T07:48:54+00:00", _US - 730_474),  # isoformat() drops a zero fraction
        ("2024-02-03T07:48Z", _US - 54_730_474),
    ],
)
def test_parse_accepts_every_form_clients_send(text: str, expected: int) -> None:
    assert parse_to_us(text) == expected


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2024-02-03", "2024-13-03T00:00:00Z", "2024-02-03T07:48:54+0"]
)
def test_parse_rejects_non_datetimes(text: str) -> None:
    with pytest.raises(ValueError):
        parse_to_us(text)


@given(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1)))  # noqa: DTZ001
def test_round_trip_through_python_isoformat(moment: datetime) -> None:
    aware = moment.replace(tzinfo=timezone.utc)
    us = parse_to_us(aware.isoformat())
    assert parse_to_us(format_us(us)) == us
    assert parse_to_us(format_us(us, "+00:00")) == us
    assert datetime.fromisoformat(format_us(us).replace("Z", "+00:00")) == aware


def test_config_validates_and_hides_secrets(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path, api_keys=("secret-key",), admin_token="secret-admin")
    assert config.api_keys == ("secret-key",)
    assert "secret" not in repr(config)
    bad: dict[str, Any]
    for bad in (
        {"api_keys": ()},
        {"timestamp_style": "utc"},
        {"max_open_sessions": 0},
        {"ingest_delay_s": -1},
    ):
        with pytest.raises(ValueError):
            EmulatorConfig(data_dir=tmp_path, **bad)


def test_evolve_config_checks_names_and_types(tmp_path: Path) -> None:
    config = EmulatorConfig(data_dir=tmp_path)
    changed = evolve_config(
        config, {"ingest_delay_s": 1, "api_keys": ["a", "b"], "auto_create_workspaces": False}
    )
    assert (changed.ingest_delay_s, changed.api_keys, changed.auto_create_workspaces) == (
        1.0,
        ("a", "b"),
        False,
    )
    changes: dict[str, Any]
    for changes in (
        {"data_dir": "x"},
        {"seed": 1},
        {"max_open_sessions": True},
        {"session_ttl_s": "1"},
        {"api_keys": []},
    ):
        with pytest.raises(ValueError):
            evolve_config(config, changes)
