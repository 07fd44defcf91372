"""``lucene(field, 'query')``: a Lucene query string read into the RQL clauses that match the same.

The classic query parser's syntax, over the values rookdb indexes (a term is one whole value, as in
RavenDB's auto-index fields): ``term`` and ``"a phrase"`` are equalities (case-insensitive),
``term*`` and ``*term`` prefix and suffix matches, other ``*``/``?`` wildcards a regex, ``*`` alone
the field's presence, ``[a TO b]`` and ``{a TO b}`` ranges (``*`` leaves an end open), ``term~`` and
``term~0.7`` fuzzy matches, ``clause^2`` a boost, ``other.field:term`` another field. Clauses side by
side are OR-ed (Lucene's default operator); ``AND``/``&&``, ``OR``/``||``, ``NOT``/``!``, ``+``
(required), ``-`` (prohibited) and parentheses combine them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from rookdb.errors import InvalidQueryError
from rookdb.query import ast

__all__ = ["lucene_clause"]

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<open>\()|(?P<close>\))
    | (?P<and>(?:AND|&&)(?=[\s()]|$))|(?P<or>(?:OR|\|\|)(?=[\s()]|$))|(?P<not>(?:NOT(?=[\s()]|$))|!)
    | (?P<plus>\+)|(?P<minus>-)
    | (?P<field>(?:[^\s:()"\[\]{}\\^~]|\\.)+):(?!\s)
    | (?P<phrase>"(?:[^"\\]|\\.)*")
    | (?P<range>[\[{][^\]}]*[\]}])
    | (?P<term>(?:[^\s()"\[\]{}\\^~:]|\\.)+)
    )(?P<fuzzy>~(?:\d+(?:\.\d+)?)?)?(?:\^(?P<boost>\d+(?:\.\d+)?))?""", re.VERBOSE)
_RANGE = re.compile(r"([\[{])\s*(\S+)\s+TO\s+(\S+)\s*([\]}])")
_KINDS = ("open", "close", "and", "or", "not", "plus", "minus", "field", "phrase", "range", "term")
_DEFAULT_FUZZY = 0.5


def lucene_clause(node: ast.Lucene, text: Any, query: str) -> ast.Expr:
    """The clause ``lucene(field, text)`` stands for; ``InvalidQueryError`` for a malformed query string."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidQueryError(f"lucene() needs a non-empty query string, got {text!r}", query=query)
    return _Reader(text, node.field, query).read()


@dataclass
class _Token:
    kind: str
    text: str
    fuzzy: str | None
    boost: str | None


class _Reader:
    def __init__(self, text: str, field: ast.Field, query: str) -> None:
        self._text = text
        self._field = field
        self._query = query
        self._tokens = self._tokenize()
        self._at = 0

    def read(self) -> ast.Expr:
        expr = self._or()
        if self._at < len(self._tokens):
            raise self._error(f"unexpected '{self._tokens[self._at].text}'")
        return expr

    def _tokenize(self) -> list[_Token]:
        tokens: list[_Token] = []
        position = 0
        while self._text[position:].strip():
            match = _TOKEN.match(self._text, position)
            if match is None or match.end() == position:
                raise self._error(f"cannot read '{self._text[position:].strip()}'")
            kind = next(name for name in _KINDS if match.group(name) is not None)
            tokens.append(_Token(kind, match.group(kind), match.group("fuzzy"), match.group("boost")))
            position = match.end()
        return tokens

    def _error(self, message: str) -> InvalidQueryError:
        return InvalidQueryError(f"Invalid Lucene query {self._text!r}: {message}", query=self._query)

    def _peek(self) -> str | None:
        return self._tokens[self._at].kind if self._at < len(self._tokens) else None

    def _or(self) -> ast.Expr:
        required: list[ast.Expr] = []
        optional: list[ast.Expr] = []
        prohibited: list[ast.Expr] = []
        while self._peek() not in (None, "close"):
            if self._peek() == "or":
                self._at += 1
                continue
            kind = self._peek()
            if kind in ("plus", "minus"):
                self._at += 1
            item = self._and()
            (required if kind == "plus" else prohibited if kind == "minus" else optional).append(item)
        if not (required or optional or prohibited):
            raise self._error("empty clause")
        if required:
            matched: ast.Expr = required[0] if len(required) == 1 else ast.And(tuple(required))
        elif optional:
            matched = optional[0] if len(optional) == 1 else ast.Or(tuple(optional))
        else:
            matched = ast.TrueExpr()
        if not prohibited:
            return matched
        return ast.And((matched, *(ast.Not(item) for item in prohibited)))

    def _and(self) -> ast.Expr:
        items = [self._unary()]
        while self._peek() == "and":
            self._at += 1
            items.append(self._unary())
        return items[0] if len(items) == 1 else ast.And(tuple(items))

    def _unary(self) -> ast.Expr:
        if self._peek() == "not":
            self._at += 1
            return ast.Not(self._unary())
        return self._primary(self._field)

    def _primary(self, field: ast.Field) -> ast.Expr:
        if self._peek() is None:
            raise self._error("unexpected end")
        token = self._tokens[self._at]
        self._at += 1
        if token.kind == "field":
            name = token.text.replace("\\", "")
            return self._primary(ast.FieldPath(tuple(ast.PathSegment(part) for part in name.split("."))))
        if token.kind == "open":
            saved, self._field = self._field, field
            inner = self._or()
            self._field = saved
            if self._peek() != "close":
                raise self._error("missing ')'")
            self._at += 1
            return _boosted(inner, token)
        if token.kind == "phrase":
            return _boosted(_equality(field, _unescape(token.text[1:-1]), token), token)
        if token.kind == "range":
            return _boosted(self._range(field, token.text), token)
        if token.kind == "term":
            return _boosted(_term(field, token.text, token), token)
        raise self._error(f"unexpected '{token.text}'")

    def _range(self, field: ast.Field, text: str) -> ast.Expr:
        found = _RANGE.fullmatch(text)
        if found is None:
            raise self._error(f"a range is written [low TO high], got {text}")
        opening, low, high, closing = found.groups()
        bounds: list[ast.Expr] = []
        if low != "*":
            bounds.append(ast.Comparison(field, ">=" if opening == "[" else ">", _literal(low)))
        if high != "*":
            bounds.append(ast.Comparison(field, "<=" if closing == "]" else "<", _literal(high)))
        if not bounds:
            return ast.Exists(field)
        return bounds[0] if len(bounds) == 1 else ast.And(tuple(bounds))


def _term(field: ast.Field, text: str, token: _Token) -> ast.Expr:
    plain = _unescape(text)
    wildcards = [index for index, char in enumerate(text) if char in "*?" and (index == 0 or text[index - 1] != "\\")]
    if not wildcards:
        return _equality(field, plain, token)
    if text == "*":
        return ast.Exists(field)
    body = plain.strip("*")
    if "?" not in text and "*" not in body:
        if text.endswith("*") and not text.startswith("*"):
            return ast.StartsWith(field, ast.Literal(body))
        if text.startswith("*") and not text.endswith("*"):
            return ast.EndsWith(field, ast.Literal(body))
    pattern = "".join(".*" if char == "*" and index in wildcards else "." if index in wildcards else re.escape(char)
                      for index, char in enumerate(text) if not (char == "\\" and index + 1 < len(text)))
    return ast.Regex(field, ast.Literal("(?i)^" + pattern + "$"))


def _equality(field: ast.Field, text: str, token: _Token) -> ast.Expr:
    comparison = ast.Comparison(field, "=", ast.Literal(text))
    if token.fuzzy is None:
        return comparison
    similarity = float(token.fuzzy[1:]) if len(token.fuzzy) > 1 else _DEFAULT_FUZZY
    # Lucene reads ~2 as an edit distance in later versions; a similarity is below 1.
    return ast.Fuzzy(comparison, similarity if similarity < 1 else _DEFAULT_FUZZY)


def _boosted(expr: ast.Expr, token: _Token) -> ast.Expr:
    return expr if token.boost is None else ast.Boost(expr, ast.Literal(float(token.boost)))


def _literal(text: str) -> ast.Literal:
    plain = _unescape(text.strip('"'))
    try:
        number = float(plain)
    except ValueError:
        return ast.Literal(plain)
    return ast.Literal(int(number) if number.is_integer() and "." not in plain else number)


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)
