"""OData `$filter` expressions on file metadata, compiled to an SQLite WHERE fragment.

`compile_filter("category eq 'news'")` returns SQL over a column `meta` that holds the file's metadata as
JSON text, plus the `?` parameters in order. Parsing is done by `odata-query` (a sly lexer and LALR
parser, wrapped by `_odata_parse`); this module walks its AST and emits SQL.

Semantics (the real backend is a search index whose behaviour we can only approximate):

- An identifier is a top-level key of the meta object (`category`). A dotted name (`a.b`) is one key
  that contains a dot; a slash path (`a/b`) walks into nested objects.
- Comparisons are type-strict: a string literal only matches JSON strings, a number only JSON numbers
  (integer and real compare numerically), `true`/`false` only JSON booleans. A value of another type
  never matches `eq/gt/ge/lt/le`, instead of being ordered by SQLite's type order. Arrays and objects
  never match.
- `ne` is exactly `not eq`: `x ne 'a'` also matches files without `x`. `x eq null` matches a missing key
  or JSON null; `x ne null` matches every other value.
- Datetime and date literals (`published ge 2024-01-01T00:00:00Z`, `day eq 2024-01-01`) compare against
  meta strings that start with an ISO date, as instants in UTC with microsecond precision: `Z`, `+00:00`,
  other offsets and any number of fractional digits compare correctly; a value without offset is UTC, a
  date alone is midnight UTC. String literals always compare as strings.
- `x in ('a', 1)` (a one-item list needs a trailing comma: `('a',)`), and the string functions
  `contains`, `startswith`, `endswith` (case-sensitive, strings only). A bare key (`is_public`) means
  `is_public eq true`.
- Tolerated beyond OData: double-quoted string literals (`category eq "news"`, as in the official CLI's
  docstring; `""` escapes a double quote) and keys that begin with `true`, `null`, `any` or `all`.
  Leading and trailing whitespace is ignored.

Keys and literals always travel as parameters, never inside the SQL text.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, Final

from odata_query import ast

from deepset_cloud.emulator.odata.parse import ODataFilterError, parse_filter

__all__ = ["ODataFilterError", "compile_filter"]

_MAX_FILTER_LENGTH: Final = 16_384
_MAX_NESTING: Final = 16  # SQLite 3.40's parser stack overflows at about 22 of our nested groups
_MAX_CONDITIONS: Final = 500  # a flat `or` chain is as deep as it is long; SQLite's limit is 1000
_MAX_PARAMETERS: Final = 5000  # well below SQLITE_MAX_VARIABLE_NUMBER (32766)
_INT64_MIN: Final = -(2**63)
_INT64_MAX: Final = 2**63 - 1
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_DIGITS: Final = "0123456789"


def compile_filter(expr: str, *, column: str = "meta") -> tuple[str, list[object]]:
    """Compile an OData filter on file metadata to an SQLite WHERE fragment.

    Args:
        expr: The OData expression, e.g. `category eq 'news' and year ge 2020`.
        column: The column holding the metadata JSON text (a plain or `table.column` name).

    Returns:
        The SQL fragment (always a complete boolean expression, never NULL) and its `?` parameters.

    Raises:
        ODataFilterError: The filter is invalid or unsupported; the message says what and where.
    """
    if not all(part.isidentifier() for part in column.split(".")):
        raise ValueError(f"not a column name: {column!r}")
    sql, params = _compile_cached(expr, column)
    return sql, list(params)


@functools.lru_cache(maxsize=256)
def _compile_cached(expr: str, column: str) -> tuple[str, tuple[object, ...]]:
    text = expr.strip()
    offset = len(expr) - len(expr.lstrip())
    if not text:
        raise ODataFilterError("Invalid filter: the filter is empty", 0)
    if len(text) > _MAX_FILTER_LENGTH:
        raise ODataFilterError(f"Invalid filter: longer than {_MAX_FILTER_LENGTH} characters")
    tree = parse_filter(text, offset)
    compiler = _Compiler(column)
    sql = compiler.predicate(tree, 0)
    if len(compiler.params) > _MAX_PARAMETERS:
        raise ODataFilterError(f"Invalid filter: too many values (more than {_MAX_PARAMETERS})")
    return sql, tuple(compiler.params)


# OData comparator -> (its name, the SQL operator, the comparator with both sides swapped)
_COMPARATORS: Final[dict[type[Any], tuple[str, str, type[Any]]]] = {
    ast.Eq: ("eq", "=", ast.Eq),
    ast.NotEq: ("ne", "<>", ast.NotEq),
    ast.Lt: ("lt", "<", ast.Gt),
    ast.LtE: ("le", "<=", ast.GtE),
    ast.Gt: ("gt", ">", ast.Lt),
    ast.GtE: ("ge", ">=", ast.LtE),
}
_STRING_FUNCTIONS: Final = frozenset({"contains", "startswith", "endswith"})

# Microseconds since the epoch of a JSON string that starts with an ISO date, else NULL (see
# `_Compiler._datetime_key`). s: the string, d: where its '.' is, n: how many digits follow the '.'.
_DATETIME_KEY_SQL: Final = (
    "(SELECT CASE"
    " WHEN s NOT GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]*' THEN NULL"
    " WHEN d = 0 THEN CAST(strftime('%s', s) AS INTEGER) * 1000000"
    " ELSE CAST(strftime('%s', substr(s, 1, d - 1) || substr(s, d + 1 + n)) AS INTEGER) * 1000000"
    " + CAST(substr(substr(s, d + 1, n) || '000000', 1, 6) AS INTEGER) END"
    " FROM (SELECT s, d, length(substr(s, d + 1)) - length(ltrim(substr(s, d + 1), '0123456789')) AS n"
    " FROM (SELECT s, instr(s, '.') AS d"
    " FROM (SELECT json_extract({column}, ?) AS s WHERE json_type({column}, ?) IS 'text'))))"
)


class _Compiler:
    """Walks the odata-query AST and emits SQL; every emitted predicate is 0 or 1, never NULL."""

    def __init__(self, column: str) -> None:
        self.column = column
        self.params: list[object] = []
        self.conditions = 0

    def predicate(self, node: Any, depth: int) -> str:
        """SQL for a condition; `depth` counts the parentheses the SQL will be nested in."""
        if depth > _MAX_NESTING:
            raise ODataFilterError(f"Invalid filter: nested more than {_MAX_NESTING} levels deep")
        if isinstance(node, ast.BoolOp):
            # `a or b or c` becomes one flat group: SQLite's parser stack (about 20 nested groups of our
            # predicates) and its expression depth (1000) are the limits that matter.
            joiner = " AND " if isinstance(node.op, ast.And) else " OR "
            parts = [self.predicate(term, depth + 1) for term in _flatten(node)]
            return "(" + joiner.join(parts) + ")"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            negations = 0
            while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
                negations, node = negations + 1, node.operand
            inner = self.predicate(node, depth + negations % 2)
            return f"(NOT {inner})" if negations % 2 else inner
        self.conditions += 1
        if self.conditions > _MAX_CONDITIONS:
            raise ODataFilterError(f"Invalid filter: more than {_MAX_CONDITIONS} conditions")
        if isinstance(node, ast.Compare):
            return self._compare(node)
        if isinstance(node, ast.Call):
            return self._call(node)
        if isinstance(node, ast.Boolean):
            return "1" if node.py_val else "0"
        if _is_field(node):
            return self._field_equals(_json_path(node), ast.Boolean("true"))
        raise ODataFilterError(f"Invalid filter: {_describe(node)} is not a condition")

    def _compare(self, node: Any) -> str:
        operator, left, right = node.comparator, node.left, node.right
        if isinstance(operator, ast.In):
            if not _is_field(left):
                raise ODataFilterError("Invalid filter: the left side of 'in' must be a metadata key")
            return self._in(_json_path(left), right.val)
        for side in (left, right):
            if isinstance(side, ast.Call) and side.func.full_name() not in _STRING_FUNCTIONS:
                raise _unsupported_function(side.func.full_name())
        if _is_literal(left) and not _is_literal(right):
            operator, left, right = _COMPARATORS[type(operator)][2](), right, left
        if (
            isinstance(left, ast.Call)
            and isinstance(right, ast.Boolean)
            and type(operator) in (ast.Eq, ast.NotEq)
        ):
            called = self._call(left)
            wanted = right.py_val == isinstance(operator, ast.Eq)
            return called if wanted else f"(NOT {called})"
        if not (_is_field(left) and _is_literal(right)):
            raise ODataFilterError(
                f"Invalid filter: cannot compare {_describe(left)} with {_describe(right)};"
                " compare a metadata key with a literal value"
            )
        path = _json_path(left)
        if isinstance(operator, ast.NotEq):
            return f"(NOT {self._field_equals(path, right)})"
        if isinstance(operator, ast.Eq):
            return self._field_equals(path, right)
        name, sql_operator, _ = _COMPARATORS[type(operator)]
        return self._field_orders(path, sql_operator, name, right)

    def _field_equals(self, path: str, literal: Any) -> str:
        if isinstance(literal, ast.Null):
            self.params.append(path)
            return f"(COALESCE(json_type({self.column}, ?), 'null') = 'null')"
        if isinstance(literal, ast.Boolean):
            self.params.append(path)
            return f"(json_type({self.column}, ?) IS '{'true' if literal.py_val else 'false'}')"
        return self._field_orders(path, "=", "eq", literal)

    def _field_orders(self, path: str, sql_op: str, odata_op: str, literal: Any) -> str:
        kind, value = _literal_value(literal)
        if kind in ("null", "boolean"):
            raise ODataFilterError(f"Invalid filter: '{odata_op}' cannot be used with {kind}")
        if kind == "datetime":
            key = self._datetime_key(path)
            self.params.append(value)
            return f"COALESCE({key} {sql_op} ?, 0)"
        self.params.extend((path, path, value))
        return f"({self._type_check(kind)} AND json_extract({self.column}, ?) {sql_op} ?)"

    def _in(self, path: str, items: Iterable[Any]) -> str:
        by_kind: dict[str, list[object]] = {}
        for item in items:
            if not _is_literal(item):
                raise ODataFilterError(
                    f"Invalid filter: 'in' lists may only hold literals, not {_describe(item)}"
                )
            kind, value = _literal_value(item)
            by_kind.setdefault(kind, []).append(value)
        parts: list[str] = []
        for kind, values in by_kind.items():
            marks = ", ".join("?" * len(values))
            if kind == "null":
                parts.append(self._field_equals(path, ast.Null()))
            elif kind == "boolean":
                self.params.append(path)
                types = ", ".join(sorted({f"'{'true' if value else 'false'}'" for value in values}))
                parts.append(f"(COALESCE(json_type({self.column}, ?), '') IN ({types}))")
            elif kind == "datetime":
                key = self._datetime_key(path)
                self.params.extend(values)
                parts.append(f"COALESCE({key} IN ({marks}), 0)")
            else:
                self.params.extend((path, path, *values))
                parts.append(f"({self._type_check(kind)} AND json_extract({self.column}, ?) IN ({marks}))")
        return "(" + " OR ".join(parts) + ")"

    def _call(self, node: Any) -> str:
        name = node.func.full_name()
        if name not in _STRING_FUNCTIONS:
            raise _unsupported_function(name)
        field, needle = node.args
        if not (_is_field(field) and isinstance(needle, ast.String)):
            raise ODataFilterError(f"Invalid filter: '{name}' takes a metadata key and a string literal")
        path, text = _json_path(field), needle.py_val
        if not text:  # every string contains, starts and ends with ''; substr(x, -0) would not say so
            self.params.append(path)
            return f"({self._type_check('string')})"
        value = f"json_extract({self.column}, ?)"
        if name == "contains":
            self.params.extend((path, path, text))
            return f"({self._type_check('string')} AND instr({value}, ?) > 0)"
        self.params.extend((path, path, len(text), text))
        if name == "startswith":
            return f"({self._type_check('string')} AND substr({value}, 1, ?) = ?)"
        return f"({self._type_check('string')} AND substr({value}, -?) = ?)"

    def _type_check(self, kind: str) -> str:
        # The caller appends the path parameter; the check makes the comparison type-strict.
        if kind == "string":
            return f"json_type({self.column}, ?) IS 'text'"
        return f"COALESCE(json_type({self.column}, ?), '') IN ('integer', 'real')"

    def _datetime_key(self, path: str) -> str:
        """Microseconds since the epoch of a meta string that starts with an ISO date, else NULL.

        SQLite's `strftime('%s', ...)` applies the offset but rounds fractions to milliseconds, so the
        fraction digits are cut out first and added back exactly (truncated to 6 digits, like Python's
        side in `_datetime_literal`).
        """
        self.params.extend((path, path))
        return _DATETIME_KEY_SQL.format(column=self.column)


def _unsupported_function(name: str) -> ODataFilterError:
    return ODataFilterError(
        f"Invalid filter: function '{name}' is not supported (supported: contains, startswith, endswith)"
    )


def _flatten(node: Any) -> list[Any]:
    """The terms of a chain of one boolean operator (`a or b or c`), left to right, without recursion."""
    op, terms, pending = type(node.op), [], [node]
    while pending:
        current = pending.pop()
        if isinstance(current, ast.BoolOp) and type(current.op) is op:
            pending.extend((current.right, current.left))
        else:
            terms.append(current)
    return terms


def _is_field(node: Any) -> bool:
    return isinstance(node, (ast.Identifier, ast.Attribute))


def _is_literal(node: Any) -> bool:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return isinstance(node.operand, (ast.Integer, ast.Float))
    return isinstance(node, ast._Literal) and not isinstance(node, ast.List)


def _json_path(node: Any) -> str:
    """`$."key"` for an identifier, `$."a"."b"` for `a/b`; keys can only hold word characters and dots."""
    return "$" + "".join(f'."{key}"' for key in _keys(node))


def _keys(node: Any) -> list[str]:
    keys: list[str] = []
    while isinstance(node, ast.Attribute):
        keys.append(node.attr)
        node = node.owner
    keys.append(node.full_name())
    assert not any('"' in key for key in keys)
    return keys[::-1]


def _literal_value(node: Any) -> tuple[str, object]:
    """The literal's kind (string, number, boolean, null, datetime) and its SQL parameter value."""
    if isinstance(node, ast.UnaryOp):  # -(5)
        kind, value = _literal_value(node.operand)
        assert isinstance(value, (int, float))
        return kind, -value
    if isinstance(node, ast.String):
        return "string", node.py_val
    if isinstance(node, ast.GUID):
        return "string", node.val
    if isinstance(node, ast.Integer):
        number = int(node.val)
        # Beyond 64 bits SQLite only has doubles (and the sqlite3 module would overflow on binding).
        return "number", number if _INT64_MIN <= number <= _INT64_MAX else float(number)
    if isinstance(node, ast.Float):
        return "number", float(node.val)
    if isinstance(node, ast.Boolean):
        return "boolean", node.py_val
    if isinstance(node, ast.Null):
        return "null", None
    if isinstance(node, (ast.DateTime, ast.Date)):
        return "datetime", _datetime_literal(node.val)
    raise ODataFilterError(f"Invalid filter: {_describe(node)} values are not supported")


def _datetime_literal(text: str) -> int:
    """Microseconds since the epoch, computed exactly like `_Compiler._datetime_key` does in SQL."""
    base, fraction = text, ""
    dot = text.find(".")
    if dot != -1:
        rest = text[dot + 1 :]
        digits = len(rest) - len(rest.lstrip(_DIGITS))
        base, fraction = text[:dot] + rest[digits:], rest[:digits]
    if base[-1:] in ("Z", "z"):
        base = base[:-1] + "+00:00"
    try:
        moment = datetime.fromisoformat(base)
    except ValueError:
        raise ODataFilterError(f"Invalid filter: {text!r} is not a valid date or datetime") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    seconds = (moment - _EPOCH) // timedelta(seconds=1)
    return seconds * 1_000_000 + int((fraction + "000000")[:6])


def _describe(node: Any) -> str:
    if _is_field(node):
        return f"key '{'/'.join(_keys(node))}'"
    if isinstance(node, ast.Call):
        return f"function '{node.func.full_name()}'"
    if isinstance(node, ast._Literal):
        return f"{type(node).__name__.lower()} literal"
    return type(node).__name__.lower()
