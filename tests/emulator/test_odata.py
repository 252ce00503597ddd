"""OData filter -> SQLite: every case runs the compiled SQL against a real in-memory table."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from deepset_cloud.emulator.odata.compile import ODataFilterError, compile_filter

ROWS: dict[int, dict[str, object]] = {
    1: {"category": "news", "year": 2020, "score": 0.5, "public": True, "published": "2024-01-01T00:00:00Z"},
    2: {
        "category": "sport",
        "year": 2023,
        "score": 2.0,
        "public": False,
        "published": "2024-01-01T01:00:00+01:00",
    },
    3: {"category": "News", "year": "2021", "public": None, "published": "2024-03-05T10:20:30.123456789Z"},
    4: {"category": 7, "year": 2021.0, "score": -3, "published": "2023-12-31"},
    5: {"tags": ["news"], "nested": {"level": 2}, "category": 'it\'s "quoted"'},
    6: {"published": "2024-01-01T00:00:00.000001", "year": True, "allowed": True, "null_count": 0},
    7: {},
}
ALL = set(ROWS)


@pytest.fixture(scope="module")
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE files (id INTEGER PRIMARY KEY, meta TEXT NOT NULL)")
    connection.executemany("INSERT INTO files VALUES (?, ?)", [(k, json.dumps(v)) for k, v in ROWS.items()])
    yield connection
    connection.close()


def matching(conn: sqlite3.Connection, expr: str) -> set[int]:
    sql, params = compile_filter(expr)
    return {row[0] for row in conn.execute(f"SELECT id FROM files WHERE {sql}", params)}


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        # strings: exact, case-sensitive, type-strict
        ("category eq 'news'", {1}),
        ("category eq 'News'", {3}),
        ("category ne 'news'", ALL - {1}),
        ("category gt 'o'", {2}),
        ("category lt 'o'", {1, 3, 5}),
        ("category ge 'sport'", {2}),
        ("category le 'News'", {3}),
        ("category eq '7'", set()),
        ("category eq 'it''s \"quoted\"'", {5}),
        # numbers: integer and real compare numerically, strings and booleans never match
        ("year eq 2021", {4}),
        ("year gt 2020", {2, 4}),
        ("year ge 2020", {1, 2, 4}),
        ("year lt 2021.5", {1, 4}),
        ("year le 2020", {1}),
        ("year ne 2021", ALL - {4}),
        ("score gt -1", {1, 2}),
        ("score lt -2.5", {4}),
        ("score eq 5e-1", {1}),
        ("score eq -(3)", {4}),
        ("year eq 1", set()),
        ("category gt 0", {4}),
        ("year eq 99999999999999999999999", set()),
        # booleans match JSON true/false only (json_extract would say 1/0)
        ("public eq true", {1}),
        ("public eq false", {2}),
        ("public ne true", ALL - {1}),
        ("year eq true", {6}),
        ("null_count eq false", set()),
        ("allowed", {6}),
        ("not allowed", ALL - {6}),
        # null: missing or JSON null
        ("public eq null", {3, 4, 5, 6, 7}),
        ("public ne null", {1, 2}),
        ("null eq public", {3, 4, 5, 6, 7}),
        # datetimes and dates as UTC instants, any offset/fraction form
        ("published eq 2024-01-01T00:00:00Z", {1, 2}),
        ("published eq 2024-01-01T00:00:00.000+00:00", {1, 2}),
        ("published eq 2024-01-01T01:00:00+01:00", {1, 2}),
        ("published eq 2024-01-01T00:00Z", {1, 2}),
        ("published gt 2024-01-01T00:00:00Z", {3, 6}),
        ("published ge 2024-01-01", {1, 2, 3, 6}),
        ("published lt 2024-01-01", {4}),
        ("published eq 2023-12-31", {4}),
        ("published le 2023-12-31T00:00:00Z", {4}),
        ("published eq 2024-01-01T00:00:00.000001Z", {6}),
        ("published eq 2024-03-05T10:20:30.123456Z", {3}),
        ("published gt 2024-03-05T12:20:30.123455+02:00", {3}),
        ("published ne 2024-01-01T00:00:00Z", ALL - {1, 2}),
        ("published eq '2024-01-01T00:00:00Z'", {1}),
        ("category gt 2000-01-01", set()),
        # boolean logic, precedence, parentheses
        ("category eq 'news' and year eq 2020", {1}),
        ("category eq 'news' and year eq 2023", set()),
        ("category eq 'news' or category eq 'sport'", {1, 2}),
        ("year eq 2020 or year eq 2023 and public eq true", {1}),
        ("(year eq 2020 or year eq 2023) and public eq false", {2}),
        ("not (category eq 'news')", ALL - {1}),
        ("not (year gt 2020)", ALL - {2, 4}),
        ("not not (year gt 2020)", {2, 4}),
        ("((category eq 'news'))", {1}),
        ("CATEGORY EQ 'news'", set()),
        ("category EQ 'news' AND year EQ 2020", {1}),
        # literal on the left
        ("2020 lt year", {2, 4}),
        ("'news' eq category", {1}),
        # in
        ("category in ('news', 'sport')", {1, 2}),
        ("category in ('news', 7, null)", {1, 4, 6, 7}),
        ("category in ('news',)", {1}),
        ("public in (true, false)", {1, 2}),
        ("published in (2023-12-31, 2024-03-05T10:20:30.123456Z)", {3, 4}),
        ("not (category in ('news', 'sport'))", ALL - {1, 2}),
        # string functions
        ("contains(category, 'port')", {2}),
        ("contains(category, 'ew')", {1, 3}),
        ("startswith(category, 'N')", {3}),
        ("endswith(category, 's')", {1, 3}),
        ("endswith(category, '')", {1, 2, 3, 5}),
        ("startswith(category, '')", {1, 2, 3, 5}),
        ("contains(category, '')", {1, 2, 3, 5}),
        ("contains(year, '20')", {3}),  # only the string year
        ("contains(category, 'ew') eq false", ALL - {1, 3}),
        ("not contains(category, 'ew')", ALL - {1, 3}),
        # keys: keyword prefixes, nested paths, arrays and objects never equal scalars
        ("null_count eq 0", {6}),
        ("nested/level eq 2", {5}),
        ("nested eq 2", set()),
        ("tags eq 'news'", set()),
        ("tags ne 'news'", ALL),
        ("missing eq 'x'", set()),
        ("missing ne 'x'", ALL),
        # constant conditions
        ("true", ALL),
        ("false", set()),
    ],
)
def test_filter_matches_exactly(conn: sqlite3.Connection, expr: str, expected: set[int]) -> None:
    assert matching(conn, expr) == expected


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ('category eq "news"', {1}),  # the official CLI's docstring uses double quotes
        ('category eq "it\'s ""quoted"""', {5}),
        ("  category eq 'news'  ", {1}),
        ("published eq '2024-01-01T00:00:00Z' ", {1}),  # the SDK's unit test sends a trailing space
        ("category eq 'news'\n", {1}),
    ],
)
def test_tolerated_forms(conn: sqlite3.Connection, expr: str, expected: set[int]) -> None:
    assert matching(conn, expr) == expected


@pytest.mark.parametrize(
    ("expr", "message", "position"),
    [
        ("category eqq 'news'", "unexpected token 'eqq' at position 9", 9),
        ("  category eqq 'news'", "unexpected token 'eqq' at position 11", 11),
        ("(year eq 2020", "unbalanced parentheses (missing ')')", 13),
        ("year eq 2020)", "unbalanced parentheses (unexpected ')' at position 12)", 12),
        ("year eq 2020 and", "unexpected token 'and' at position 13", 13),
        ("year eq", "unexpected token 'eq' at position 5", 5),
        ("category eq 'news", 'unexpected character "\'" at position 12', 12),
        ("category eq 'x'; DROP TABLE files", "unexpected character ';' at position 15", 15),
        ("frobnicate(category)", "unknown function 'frobnicate' at position 0", 0),
        ("year eq 1 and contains(category)", "'contains' takes 2 arguments", 14),
        ("category in ('news')", "a one-item 'in' list needs a trailing comma", 19),
        ("", "the filter is empty", 0),
        ("   ", "the filter is empty", 0),
    ],
)
def test_syntax_errors_say_what_and_where(expr: str, message: str, position: int) -> None:
    with pytest.raises(ODataFilterError) as info:
        compile_filter(expr)
    assert str(info.value).startswith("Invalid filter: ")
    assert message in str(info.value)
    assert info.value.position == position


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        ("tolower(category) eq 'news'", "function 'tolower' is not supported"),
        ("length(category) gt 3", "function 'length' is not supported"),
        ("year gt null", "'gt' cannot be used with null"),
        ("public lt true", "'lt' cannot be used with boolean"),
        ("year eq score", "cannot compare key 'year' with key 'score'"),
        ("1 eq 1", "cannot compare"),
        ("year add 1 eq 2", "cannot compare binop"),
        ("'news'", "string literal is not a condition"),
        ("published eq 12:00:00", "time literal values are not supported"),
        ("published eq 2024-13-01", "unexpected"),
        ("published eq 2024-02-30T00:00:00Z", "is not a valid date or datetime"),
        ("category in (category, 'a')", "'in' lists may only hold literals"),
        ("contains('news', category)", "'contains' takes a metadata key and a string literal"),
        ("tags/any(t: t eq 'news')", "is not a condition"),
    ],
)
def test_unsupported_constructs_are_errors(expr: str, message: str) -> None:
    with pytest.raises(ODataFilterError, match=r"^Invalid filter: ") as info:
        compile_filter(expr)
    assert message in str(info.value)


def test_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unexpected token"):
        compile_filter("a eqq 1")


def test_values_travel_as_parameters_and_injection_stays_harmless(conn: sqlite3.Connection) -> None:
    evil = "x'); DROP TABLE files; --"
    sql, params = compile_filter(f"category eq '{evil.replace(chr(39), chr(39) * 2)}'")
    assert "DROP" not in sql
    assert evil in params
    assert matching(conn, f'category eq "{evil}"') == set()
    assert conn.execute("SELECT count(*) FROM files").fetchone() == (len(ROWS),)


def test_keys_travel_as_json_path_parameters() -> None:
    sql, params = compile_filter("category eq 'news'")
    assert "category" not in sql
    assert params == ['$."category"', '$."category"', "news"]


def test_dotted_identifier_is_one_key() -> None:
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:  # 3.13 warns about unclosed ones
        connection.execute("CREATE TABLE files (id INTEGER, meta TEXT)")
        connection.executemany("INSERT INTO files VALUES (?, ?)", [(1, '{"a.b": 1}'), (2, '{"a": {"b": 1}}')])
        sql, params = compile_filter("a.b eq 1")
        assert [r[0] for r in connection.execute(f"SELECT id FROM files WHERE {sql}", params)] == [1]
        sql, params = compile_filter("a/b eq 1")
        assert [r[0] for r in connection.execute(f"SELECT id FROM files WHERE {sql}", params)] == [2]


def test_column_name_can_be_qualified_and_is_validated() -> None:
    with contextlib.closing(sqlite3.connect(":memory:")) as connection:  # 3.13 warns about unclosed ones
        connection.execute("CREATE TABLE f (id INTEGER, m TEXT)")
        connection.execute('INSERT INTO f VALUES (1, \'{"k": "v"}\')')
        sql, params = compile_filter("k eq 'v' and k ne null", column="f.m")
        assert connection.execute(f"SELECT id FROM f WHERE {sql}", params).fetchall() == [(1,)]
        with pytest.raises(ValueError, match="not a column name"):
            compile_filter("k eq 'v'", column="m; DROP TABLE f")


def test_cached_result_is_not_shared_mutably() -> None:
    _, first = compile_filter("category eq 'news'")
    first.append("garbage")
    _, second = compile_filter("category eq 'news'")
    assert second == ['$."category"', '$."category"', "news"]


def test_predicates_never_evaluate_to_null(conn: sqlite3.Connection) -> None:
    # NOT over a NULL would silently drop rows; every fragment must be 0 or 1 on every row.
    for expr in ("year gt 2020", "published ge 2024-01-01", "contains(category, 'a')", "public eq null"):
        sql, params = compile_filter(expr)
        values = {row[0] for row in conn.execute(f"SELECT {sql} FROM files", params)}
        assert values <= {0, 1}, expr


def test_long_chains_and_deepest_allowed_nesting_run_in_sqlite(conn: sqlite3.Connection) -> None:
    # A flat chain of 500 datetime conditions (the most SQL per condition) stays within SQLite's limits.
    days = (date(2023, 1, 1) + timedelta(days=i) for i in range(500))
    chain = " or ".join(f"published eq {day.isoformat()}" for day in days)
    assert matching(conn, chain) == {1, 2, 4}  # 2023-12-31 and 2024-01-01
    # 16 alternating levels of and/or/not around datetime conditions: the worst shape we accept.
    expr, expected = "published eq 2024-01-01T00:00:00Z", {1, 2}
    dated = {1, 2, 3, 4, 6}  # rows matching `published ge 1900-01-01`
    for level in range(16):
        if level % 3 == 2:
            expr, expected = f"not ({expr})", ALL - expected
        elif level % 2:
            expr, expected = f"published ge 1900-01-01 or ({expr})", dated | expected
        else:
            expr, expected = f"published ge 1900-01-01 and ({expr})", dated & expected
    assert matching(conn, expr) == expected
    assert matching(conn, "not " * 151 + "(year eq 2020)") == ALL - {1}
    assert matching(conn, "(" * 300 + "year eq 2020" + ")" * 300) == {1}


@pytest.mark.parametrize(
    ("expr", "message"),
    [
        (" or ".join(f"year eq {i}" for i in range(501)), "more than 500 conditions"),
        ("not (year eq 1 or " * 17 + "year eq 1" + ")" * 17, "nested more than 16 levels"),
        ("year in (" + ",".join("1" * 5001) + ")", "too many values"),
        ("year eq 1 or " * 1400 + "year eq 1", "longer than 16384 characters"),
        ("/".join(["a"] * 5000) + " eq 1", "nested too deeply"),
    ],
)
def test_oversized_filters_are_rejected(expr: str, message: str) -> None:
    with pytest.raises(ODataFilterError, match=r"^Invalid filter: ") as info:
        compile_filter(expr)
    assert message in str(info.value)


# --------------------------------------------------------------------------------------------------
# Property tests against a Python model of the semantics

TEXT_CHARS = st.characters(exclude_categories=["Cs"], exclude_characters="\x00")  # sqlite3 can't bind them
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(alphabet=TEXT_CHARS, max_size=8),
)
OPERATORS = {
    "eq": lambda a, b: a == b,
    "ne": lambda a, b: a != b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
}


def kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return "string"


def model_matches(stored: object, present: bool, op: str, literal: object) -> bool:
    """What the emulator promises: type-strict comparisons, `ne` is `not eq`, null means missing."""
    if op == "ne":
        return not model_matches(stored, present, "eq", literal)
    if literal is None:
        return not present or stored is None
    if not present or kind(stored) != kind(literal):
        return False
    return bool(OPERATORS[op](stored, literal))


def odata_literal(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # always has a '.' or an exponent, so it lexes as a decimal
    if isinstance(value, int):
        return str(value)
    assert isinstance(value, str)
    return "'" + value.replace("'", "''") + "'"


def run_one(meta: dict[str, object], expr: str) -> bool:
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute("CREATE TABLE files (id INTEGER, meta TEXT)")
        connection.execute("INSERT INTO files VALUES (1, ?)", (json.dumps(meta),))
        sql, params = compile_filter(expr)
        return bool(connection.execute(f"SELECT count(*) FROM files WHERE {sql}", params).fetchone()[0])
    finally:
        connection.close()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stored=scalars, present=st.booleans(), op=st.sampled_from(sorted(OPERATORS)), literal=scalars)
def test_scalar_comparisons_follow_the_model(stored: object, present: bool, op: str, literal: object) -> None:
    expr = f"key {op} {odata_literal(literal)}"
    allowed = op in ("eq", "ne") or kind(literal) in ("number", "string")
    if not allowed:
        with pytest.raises(ODataFilterError):
            compile_filter(expr)
        return
    meta = {"key": stored} if present else {"other": stored}
    assert run_one(meta, expr) == model_matches(stored, present, op, literal)


offsets = st.integers(min_value=-14 * 60, max_value=14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
instants = st.datetimes(
    min_value=datetime(1900, 1, 1),  # noqa: DTZ001 - hypothesis takes naive bounds
    max_value=datetime(2200, 1, 1),  # noqa: DTZ001
    timezones=st.just(timezone.utc),
)


def iso(moment: datetime, zone: timezone, suffix_style: int, fraction_style: str) -> str:
    """`moment` written in `zone`, with Z/+00:00/no suffix for UTC and full, trimmed or 9-digit fractions."""
    local = moment.astimezone(zone)
    digits = f"{local.microsecond:06d}"
    if fraction_style == "trimmed":
        digits = digits.rstrip("0")
    elif fraction_style == "nanos":
        digits += "987"  # beyond microseconds: truncated on both sides
    text = local.strftime("%Y-%m-%dT%H:%M:%S") + (f".{digits}" if digits else "")
    if local.utcoffset() == timedelta(0):
        return text + ("Z", "+00:00", "")[suffix_style]
    offset = local.strftime("%z")
    return f"{text}{offset[:3]}:{offset[3:]}"


fractions = st.sampled_from(["full", "trimmed", "nanos"])


@settings(max_examples=300, deadline=None)
@given(
    stored=instants,
    stored_zone=offsets,
    stored_style=st.integers(0, 2),
    stored_fraction=fractions,
    literal=instants,
    literal_zone=offsets,
    literal_fraction=fractions,
    op=st.sampled_from(sorted(OPERATORS)),
    same=st.booleans(),
)
def test_datetime_comparisons_are_instant_comparisons(
    stored: datetime,
    stored_zone: timezone,
    stored_style: int,
    stored_fraction: str,
    literal: datetime,
    literal_zone: timezone,
    literal_fraction: str,
    op: str,
    same: bool,
) -> None:
    if same:
        literal = stored
    stored_text = iso(stored, stored_zone, stored_style, stored_fraction)
    expr = f"when {op} {iso(literal, literal_zone, 0, literal_fraction)}"
    assert run_one({"when": stored_text}, expr) == OPERATORS[op](stored, literal), (stored_text, expr)


@settings(max_examples=100, deadline=None)
@given(value=st.text(alphabet=TEXT_CHARS))
def test_any_string_literal_round_trips(value: str) -> None:
    single = "'" + value.replace("'", "''") + "'"
    double = '"' + value.replace('"', '""') + '"'
    for literal in (single, double):
        assert run_one({"key": value}, f"key eq {literal}")
        assert not run_one({"key": value + "x"}, f"key eq {literal}")
