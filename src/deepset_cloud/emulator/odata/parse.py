"""Parsing of OData `$filter` expressions for `_odata`: odata-query's lexer and parser, with clear errors.

The lexer is odata-query's with two tolerances: double-quoted string literals, and keys that begin with
a keyword (`true_story`, `nullable`, `anything`). Every problem becomes an `ODataFilterError` that says
what is wrong and at which position of the original filter.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from odata_query import ast, exceptions
from odata_query.grammar import ODataLexer, ODataParser

__all__ = ["ODataFilterError", "parse_filter"]

_Fn = TypeVar("_Fn", bound=Callable[..., Any])


class ODataFilterError(ValueError):
    """The filter is not valid OData, or uses something the emulator does not support.

    Attributes:
        position: 0-based offset in the filter string where the problem is, when known.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def _token_rule(pattern: str) -> Callable[[_Fn], _Fn]:
    """What sly's `@_` does: attach the token's regular expression to its action."""

    def decorate(func: _Fn) -> _Fn:
        func.pattern = pattern  # type: ignore[attr-defined]
        return func

    return decorate


def _keyword_rule(pattern: str, node: Callable[[], Any]) -> Callable[[Any, Any], Any]:
    """A lexer rule for a keyword whose token value is a fresh `node()` (sly keys rules by attribute)."""

    @_token_rule(pattern)
    def rule(self: Any, t: Any) -> Any:
        t.value = node()
        return t

    return rule


class _Lexer(ODataLexer):  # type: ignore[misc]
    """The odata-query lexer with double-quoted strings and keyword prefixes that stay identifiers."""

    tokens = ODataLexer.tokens | {"DQ_STRING"}

    # Redefined rules keep their place in sly's rule order; `\b` or `(?=\()` stops `allowed`, `nullable`
    # or `true_story` from lexing as a keyword followed by an identifier.
    @_token_rule(r"(?:true|false)\b")
    def BOOLEAN(self, t: Any) -> Any:  # noqa: N802 - sly names rules after their tokens
        t.value = ast.Boolean(t.value)
        return t

    NULL = _keyword_rule(r"null\b", ast.Null)
    ANY = _keyword_rule(r"any(?=\()", ast.Any)
    ALL = _keyword_rule(r"all(?=\()", ast.All)

    @_token_rule(r'"(?:[^"]|"")*"')
    def DQ_STRING(self, t: Any) -> Any:  # noqa: N802
        t.type = "STRING"
        t.value = ast.String(t.value[1:-1].replace('""', '"'))
        return t


def parse_filter(text: str, offset: int) -> Any:
    """The odata-query AST of `text`, a stripped filter that started `offset` characters into the original."""
    try:
        tokens = list(_Lexer().tokenize(text))
    except exceptions.TokenizingException as exc:
        index = exc.token.index
        raise ODataFilterError(
            f"Invalid filter: unexpected character {text[index]!r} at position {index + offset}",
            index + offset,
        ) from None
    try:
        return ODataParser().parse(iter(tokens))
    except exceptions.ParsingException as exc:
        raise _parse_error(text, offset, tokens, exc.token) from None
    except (exceptions.UnknownFunctionException, exceptions.ArgumentCountException) as exc:
        position = _function_position(tokens, exc.function_name)
        where = "" if position is None else f" at position {position + offset}"
        detail = str(exc).rstrip(".")
        if isinstance(exc, exceptions.UnknownFunctionException):
            detail = f"unknown function '{exc.function_name}'"
        raise ODataFilterError(
            f"Invalid filter: {detail}{where}", None if position is None else position + offset
        ) from None
    except exceptions.ODataException as exc:
        raise ODataFilterError(f"Invalid filter: {exc}") from None
    except RecursionError:  # odata-query walks long a/b/c paths recursively
        raise ODataFilterError("Invalid filter: nested too deeply") from None


def _parse_error(text: str, offset: int, tokens: Sequence[Any], bad: Any) -> ODataFilterError:
    opened = sum(1 for token in tokens if token.type == "(")
    closed = sum(1 for token in tokens if token.type == ")")
    if bad is None:
        if opened > closed:
            return ODataFilterError(
                "Invalid filter: unbalanced parentheses (missing ')')", len(text) + offset
            )
        return ODataFilterError("Invalid filter: unexpected end of filter", len(text) + offset)
    index = next(i for i, token in enumerate(tokens) if token is bad)
    # Operator tokens carry their surrounding whitespace and an unknown word shows up as the whitespace
    # before it, so report the first visible token from here on.
    while tokens[index].type == "WS" and index + 1 < len(tokens):
        index += 1
    start = tokens[index].index
    end = tokens[index + 1].index if index + 1 < len(tokens) else len(text)
    raw = text[start:end]
    position = start + (len(raw) - len(raw.lstrip())) + offset
    if bad.type == ")" and closed > opened:
        return ODataFilterError(
            f"Invalid filter: unbalanced parentheses (unexpected ')' at position {position})", position
        )
    hint = ""
    if bad.type == ")" and any(token.type == "IN" for token in tokens):
        hint = " (a one-item 'in' list needs a trailing comma: x in ('a',))"
    return ODataFilterError(
        f"Invalid filter: unexpected token {raw.strip()!r} at position {position}{hint}", position
    )


def _function_position(tokens: Sequence[Any], name: str) -> int | None:
    for token, following in itertools.pairwise(tokens):
        if token.type == "ODATA_IDENTIFIER" and following.type == "(" and token.value.full_name() == name:
            return int(token.index)
    return None
