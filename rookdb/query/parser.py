"""RQL text → ``Query``: the lark LALR parser and the tree builder.

The parser is compiled once (the server does it at start, ``prepare_parser``; otherwise the first
query does), and parsed queries are cached by their text. Every
lark exception is translated by ``parse_errors.py`` into ``InvalidQueryError`` with line, column,
the offending token, what was expected, and ``position``; lark types never escape.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from importlib import resources
from typing import Any

import lark
from lark import Token
from lark.exceptions import (
    LarkError,
)

from rookdb.errors import RookError
from rookdb.indexes.auto_map_reduce import COUNT_FIELD
from rookdb.query import ast
from rookdb.query.parse_errors import at_position, translate_lark_error

__all__ = ["DEFAULT_PARSE_CACHE_SIZE", "parse_query", "parser_prepared", "prepare_parser"]

DEFAULT_PARSE_CACHE_SIZE = 1024
"""How many distinct query texts keep their parsed tree (clients reuse texts, with ``$p0``...)."""


def parse_query(text: str) -> ast.Query:
    """Parse RQL; raises ``InvalidQueryError`` for anything that is not valid RQL."""
    return _parse_cached(text)


def prepare_parser() -> None:
    """Compile the parser now (about half a second), so that no query waits for it."""
    _parser()


def parser_prepared() -> bool:
    """True once the parser is compiled."""
    return _parser.cache_info().currsize > 0


@functools.lru_cache(maxsize=DEFAULT_PARSE_CACHE_SIZE)
def _parse_cached(text: str) -> ast.Query:
    declarations, rest = _declarations(text)
    try:
        query = _parser().parse(rest)
    except _BuildError as error:
        raise at_position(error.message, text, error.token.start_pos or 0) from None
    except LarkError as error:
        raise _translate_lark_error(error, text) from error
    assert isinstance(query, ast.Query)
    return dataclasses.replace(query, declarations=declarations) if declarations else query


_DECLARE = re.compile(r"\s*(?://[^\n]*\n\s*)*declare\s+function\s+[\w$]+\s*\([^)]*\)\s*\{", re.IGNORECASE)
_JS_SKIP = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|`(?:[^`\\]|\\.)*`|//[^\n]*|/\*.*?\*/", re.DOTALL)


def _declarations(text: str) -> tuple[tuple[str, ...], str]:
    """The leading ``declare function`` blocks (their braces matched past strings and comments), and
    the text with them blanked out, so that positions in errors stay those of the query as sent."""
    found: list[str] = []
    at = 0
    while (head := _DECLARE.match(text, at)) is not None:
        depth, position = 1, head.end()
        while depth and position < len(text):
            skipped = _JS_SKIP.match(text, position)
            if skipped is not None:
                position = skipped.end()
                continue
            depth += {"{": 1, "}": -1}.get(text[position], 0)
            position += 1
        if depth:
            raise at_position("unterminated 'declare function'", text, head.end() - 1)
        found.append(text[head.start():position].strip())
        at = position
    if not found:
        return (), text
    return tuple(found), re.sub(r"[^\n]", " ", text[:at]) + text[at:]


@functools.cache
def _parser() -> lark.Lark:
    grammar = resources.files("rookdb.query").joinpath("grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(
        grammar,
        parser="lalr",
        lexer="contextual",
        transformer=_TreeBuilder(),
        maybe_placeholders=False,
    )


# ---- tree building ---------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.)|('')|(\"\")", re.DOTALL)
_COMPARISON_OPS = {"==": "=", "<>": "!="}
_TEXT_KINDS = ("text", "text_i8", "text_i1")


def _unquote(token: Token) -> str:
    body = str(token)[1:-1]

    def replace(match: re.Match[str]) -> str:
        if match.group(2) or match.group(3):
            return match.group(0)[0]  # a doubled quote stands for one quote
        escape = match.group(1)
        if len(escape) == 5:
            return chr(int(escape[1:], 16))
        return _ESCAPES.get(escape, escape)

    return _ESCAPE.sub(replace, body)


def _number(token: Token) -> int | float:
    text = str(token)
    if "." in text or "e" in text or "E" in text:
        return float(text)
    return int(text)


def _value(token: Token) -> ast.Literal | ast.Parameter:
    if token.type == "PARAM":
        return ast.Parameter(str(token)[1:], position=token.start_pos)
    if token.type == "STRING":
        return ast.Literal(_unquote(token))
    if token.type == "NUMBER":
        return ast.Literal(_number(token))
    if token.type == "FALSE":
        return ast.Literal(False)
    raise AssertionError(f"not a value token: {token.type}")


class _BuildError(Exception):
    """A rule that parsed but makes no sense; turned into ``InvalidQueryError`` with the text."""

    def __init__(self, token: Token, message: str) -> None:
        super().__init__(message)
        self.token = token
        self.message = message


def _flatten(kind: type[ast.And] | type[ast.Or], items: list[Any]) -> tuple[Any, ...]:
    flat: list[Any] = []
    for item in items:
        flat.extend(item.items if isinstance(item, kind) else (item,))
    return tuple(flat)


class _TreeBuilder(lark.Transformer[Token, Any]):
    """Builds ``ast`` nodes while the LALR parser reduces (no intermediate parse tree)."""

    # -- query and clauses

    def start(self, children: list[Any]) -> ast.Query:
        query: ast.Query = children[0]
        return query

    def query(self, children: list[Any]) -> ast.Query:
        source: ast.Source = children[0]
        parts: dict[str, Any] = {}
        for tag, *payload in children[1:]:
            parts[tag] = payload[0] if len(payload) == 1 else tuple(payload)
        limit, offset = parts.pop("paging", (None, None))
        parts.update(parts.pop("includes", {}))
        return ast.Query(source=source, limit=limit, offset=offset, **parts)

    def from_clause(self, children: list[Any]) -> ast.Source:
        kind, name = children[0]
        alias = children[1] if len(children) > 1 else None
        return ast.Source(kind, name, alias)

    def collection_source(self, children: list[Token]) -> tuple[str, str | None]:
        token = children[0]
        name = _unquote(token) if token.type == "STRING" else str(token)
        # a quoted '@all_docs' is still every document: RavenDB compares the name, not the token
        if name.lower() == "@all_docs":
            return "all_docs", None
        return "collection", name

    def all_docs_source(self, children: list[Token]) -> tuple[str, None]:
        return "all_docs", None

    def index_source(self, children: list[Token]) -> tuple[str, str]:
        token = children[0]
        return "index", _unquote(token) if token.type == "STRING" else str(token)

    def alias(self, children: list[Token]) -> str:
        return str(children[0])

    def group_clause(self, children: list[ast.GroupByItem]) -> tuple[str, tuple[ast.GroupByItem, ...]]:
        return "group_by", tuple(children)

    def group_by_path(self, children: list[ast.FieldPath]) -> ast.GroupByItem:
        return ast.GroupByItem(children[0])

    def group_by_content(self, children: list[Any]) -> ast.GroupByItem:
        return ast.GroupByItem(children[1], by_content=True)

    def group_key(self, children: list[Token]) -> ast.GroupKey:
        return ast.GroupKey()

    def count_aggregate(self, children: list[Token]) -> ast.CountAggregate:
        return ast.CountAggregate()

    def sum_aggregate(self, children: list[Any]) -> ast.SumAggregate:
        return ast.SumAggregate(children[1])

    def where_clause(self, children: list[Any]) -> tuple[str, ast.Expr]:
        return "where", children[0]

    def order_clause(self, children: list[ast.OrderBy]) -> tuple[str, tuple[ast.OrderBy, ...]]:
        return "order_by", tuple(children)

    def javascript_object_select(self, children: list[Token]) -> tuple[str, str]:
        return "javascript", str(children[0])

    def javascript_call_select(self, children: list[Any]) -> tuple[str, str]:
        arguments = ", ".join(item.to_rql() if isinstance(item, ast.Node) else str(item) for item in children[1:])
        return "javascript", f"{children[0]}({arguments})"

    def select_clause(self, children: list[Any]) -> tuple[str, ast.Select]:
        distinct = isinstance(children[0], Token)
        projections = tuple(children[1:] if distinct else children)
        return "select", ast.Select(projections, distinct)

    def facet_select(self, children: list[ast.Facet]) -> tuple[str, tuple[ast.Facet, ...]]:
        return "facets", tuple(children)

    def facet(self, children: list[Any]) -> ast.Facet:
        keyword, arguments = children[0], children[1:]
        alias = None
        if arguments and isinstance(arguments[-1], Token):
            token = arguments.pop()
            alias = _unquote(token) if token.type == "STRING" else str(token)
        parts: dict[str, list[Any]] = {"field": [], "range": [], "setup": [], "options": [], "aggregation": []}
        for kind, item in arguments:
            parts[kind].append(item)
        fields, ranges, setups, options = parts["field"], parts["range"], parts["setup"], parts["options"]
        if setups and (len(arguments) > 1 or alias is not None):
            raise _BuildError(keyword, "facet(id(...)) takes its facets from the setup document and nothing else")
        if len(fields) > 1 or (fields and ranges):
            raise _BuildError(keyword, "A facet is over one field or over ranges of one field, not both")
        if len(options) > 1:
            raise _BuildError(keyword, "A facet takes one options parameter")
        return ast.Facet(fields[0] if fields else None, tuple(ranges), setups[0] if setups else None,
                         tuple(parts["aggregation"]), options[0] if options else None, alias)

    def facet_field(self, children: list[Any]) -> tuple[str, ast.FieldPath]:
        return "field", children[0]

    def facet_range(self, children: list[Any]) -> tuple[str, ast.Expr]:
        return "range", children[0] if len(children) == 1 else ast.And(tuple(children))

    def facet_aggregation(self, children: list[Any]) -> tuple[str, ast.FacetAggregation]:
        alias = None
        if len(children) > 2:
            token = children[2]
            alias = _unquote(token) if token.type == "STRING" else str(token)
        return "aggregation", ast.FacetAggregation(str(children[0]).lower(), children[1], alias)  # type: ignore[arg-type]

    def facet_options(self, children: list[Token]) -> tuple[str, ast.Value]:
        return "options", _value(children[0])

    def facet_setup(self, children: list[Token]) -> tuple[str, ast.Value]:
        return "setup", _value(children[1])

    def include_clause(self, children: list[Any]) -> tuple[str, dict[str, Any]]:
        return "includes", {
            "include": tuple(_include_path(item) for item in children if isinstance(item, ast.FieldPath)),
            "include_compare_exchange": tuple(item[1] for item in children if isinstance(item, tuple)),
            "include_timings": "timings" in children,
            "include_explanations": next((item.options for item in children if isinstance(item, _Explanations)),
                                         False),
            "highlights": tuple(item for item in children if isinstance(item, ast.Highlight)),
        }

    def include_compare_exchange(self, children: list[Any]) -> tuple[str, ast.FieldPath]:
        return "cmpxchg", _include_path(children[1])

    def include_timings(self, children: list[Token]) -> str:
        return "timings"

    def include_highlight(self, children: list[Any]) -> ast.Highlight:
        numbers = []
        for token in children[2:4]:
            number = _number(token)
            if not isinstance(number, int) or number < 0:
                raise _BuildError(token, f"highlight() needs whole numbers of characters and fragments, got {token}")
            numbers.append(number)
        options = _value(children[4]) if len(children) > 4 else None
        assert options is None or isinstance(options, ast.Parameter)
        return ast.Highlight(_include_path(children[1]), numbers[0], numbers[1], options)

    def include_explanations(self, children: list[Token]) -> _Explanations:
        options = _value(children[1]) if len(children) > 1 else None
        return _Explanations(options if isinstance(options, ast.Parameter) else True)

    def limit_first(self, children: list[Any]) -> tuple[str, ast.Value | None, ast.Value | None]:
        offset: ast.Value | None = None
        if len(children) == 1:
            limit = children[0]
        elif len(children) == 2:
            offset, limit = children
        elif len(children) == 3:
            limit, offset = children[0], children[2]
        else:
            raise _BuildError(children[2], "Cannot use 'offset' after 'limit $skip, $take'")
        return "paging", limit, offset

    def offset_first(self, children: list[Any]) -> tuple[str, ast.Value | None, ast.Value | None]:
        offset = children[1]
        limit = children[2] if len(children) > 2 else None
        return "paging", limit, offset

    def paging_value(self, children: list[Token]) -> ast.Value:
        return _value(children[0]) if children else ast.Literal(None)

    # -- where

    def or_expr(self, children: list[Any]) -> ast.Or:
        return ast.Or(_flatten(ast.Or, children))

    def and_expr(self, children: list[Any]) -> ast.And:
        return ast.And(_flatten(ast.And, children))

    def negation(self, children: list[Any]) -> ast.Not:
        return ast.Not(children[0])

    def true_expr(self, children: list[Any]) -> ast.TrueExpr:
        return ast.TrueExpr()

    def comparison(self, children: list[Any]) -> ast.Comparison:
        field, op, value = children
        return ast.Comparison(field, _COMPARISON_OPS.get(str(op), str(op)), value)  # type: ignore[arg-type]

    def count_field(self, children: list[Token]) -> ast.FieldPath:
        return ast.FieldPath((ast.PathSegment(COUNT_FIELD, position=children[0].start_pos),))

    def sum_field(self, children: list[Any]) -> ast.FieldPath:
        path: ast.FieldPath = children[1]
        if len(path.segments) != 1:  # RavenDB's rule: the summed field is the index field of that name
            raise _BuildError(children[0], f"sum() must be called with a single field name, but was called: "
                                           f"sum({path.to_rql()})")
        return path

    def between(self, children: list[Any]) -> ast.Between:
        return ast.Between(*children)

    def in_expr(self, children: list[Any]) -> ast.In:
        return ast.In(children[0], children[1])

    def all_in_expr(self, children: list[Any]) -> ast.In:
        return ast.In(children[0], children[1], all=True)

    def value_list(self, children: list[ast.Value]) -> tuple[ast.Value, ...]:
        return tuple(children)

    def starts_with(self, children: list[Any]) -> ast.StartsWith:
        return ast.StartsWith(children[1], children[2])

    def ends_with(self, children: list[Any]) -> ast.EndsWith:
        return ast.EndsWith(children[1], children[2])

    def exists(self, children: list[Any]) -> ast.Exists:
        return ast.Exists(children[1])

    def search(self, children: list[Any]) -> ast.Search:
        operator = children[3] if len(children) > 3 else "or"
        return ast.Search(children[1], children[2], operator)  # type: ignore[arg-type]

    def search_and(self, children: list[Any]) -> str:
        return "and"

    def search_or(self, children: list[Any]) -> str:
        return "or"

    def regex(self, children: list[Any]) -> ast.Regex:
        return ast.Regex(children[1], children[2])

    def exact(self, children: list[Any]) -> ast.Expr:
        inner = children[1]
        if isinstance(inner, ast.VectorSearch):
            return dataclasses.replace(inner, exact=True)
        return ast.Exact(inner)

    def boost(self, children: list[Any]) -> ast.Expr:
        inner, factor = children[1], children[2]
        if isinstance(inner, ast.VectorSearch) and isinstance(factor, ast.Literal):
            assert isinstance(factor.value, int | float)
            return dataclasses.replace(inner, boost=float(factor.value))
        return ast.Boost(inner, factor)

    def intersect(self, children: list[Any]) -> ast.And:
        # One entry per document in rookdb's indexes: every clause matching the document is what
        # RavenDB's intersect() asks of the entries a document produced.
        return ast.And(_flatten(ast.And, children[1:]))

    def fuzzy(self, children: list[Any]) -> ast.Fuzzy:
        field, op, value, similarity = children[1:]
        if str(op) not in ("=", "=="):
            raise _BuildError(op, f"fuzzy() needs an equality ('field = value'), got '{op}'")
        number = _number(similarity)
        if not 0.0 <= number <= 1.0:
            raise _BuildError(similarity, f"The fuzzy similarity must be between 0.0 and 1.0, got {similarity}")
        return ast.Fuzzy(ast.Comparison(field, "=", value), float(number))

    def proximity(self, children: list[Any]) -> ast.Search:
        inner, distance = children[1], children[2]
        if not isinstance(inner, ast.Search) or inner.proximity is not None:
            raise _BuildError(children[0],
                              "proximity() applies to a search() clause: proximity(search(Field, 'a b'), 2)")
        number = _number(distance)
        if not isinstance(number, int) or number < 0:
            raise _BuildError(distance, f"The proximity distance must be a whole number of 0 or more, got {distance}")
        return dataclasses.replace(inner, proximity=number)

    def lucene(self, children: list[Any]) -> ast.Lucene:
        return ast.Lucene(children[1], children[2])

    def boost_factor(self, children: list[Token]) -> ast.Value:
        return _value(children[0])

    # -- vector search

    def vector_search(self, children: list[Any]) -> ast.VectorSearch:
        field, query = children[1], children[2]
        numbers: list[tuple[int | float, Token] | None] = children[3:]
        similarity = candidates = None
        if numbers and numbers[0] is not None:
            value, token = numbers[0]
            if not 0.0 <= value <= 1.0:
                raise _BuildError(token, f"Minimum similarity must be between 0.0 and 1.0, got {token}")
            similarity = float(value)
        if len(numbers) > 1 and numbers[1] is not None:
            value, token = numbers[1]
            if not isinstance(value, int) or value <= 0:
                raise _BuildError(token, f"Number of candidates must be a positive integer, got {token}")
            candidates = value
        return ast.VectorSearch(field, query, similarity, candidates)

    def vector_number(self, children: list[Token]) -> tuple[int | float, Token] | None:
        return (_number(children[0]), children[0]) if children else None

    def plain_vector_field(self, children: list[Any]) -> ast.VectorField:
        return ast.VectorField("field", children[0])

    def embedding_vector_field(self, children: list[Any]) -> ast.VectorField:
        token, path = children[0], children[1]
        kind = _embedding_kind(token)
        task = children[2] if len(children) > 2 else None
        if task is not None and kind not in _TEXT_KINDS:
            raise _BuildError(token, f"ai.task(...) can only be used with embedding.text, not {token}")
        return ast.VectorField(kind, path, task)  # type: ignore[arg-type]

    def ai_task(self, children: list[Token]) -> ast.Value:
        return _value(children[1])

    def vector_query_value(self, children: list[Token]) -> ast.Value:
        return _value(children[0])

    def vector_query_for_doc(self, children: list[Token]) -> ast.ForDoc:
        return ast.ForDoc(_value(children[1]))

    def vector_query_text_task(self, children: list[Any]) -> ast.TextWithTask:
        token = children[0]
        kind = _embedding_kind(token)
        if kind not in _TEXT_KINDS:
            raise _BuildError(token, f"Only embedding.text can embed a query with ai.task(...), not {token}")
        return ast.TextWithTask(_value(children[1]), children[2], kind)  # type: ignore[arg-type]

    # -- order by / select

    def order_item(self, children: list[Any]) -> ast.OrderBy:
        options = dict(children[1:])
        return ast.OrderBy(children[0], options.get("as"), options.get("desc", False), options.get("nulls"))

    def order_type(self, children: list[Token]) -> tuple[str, str]:
        text = str(children[0]).lower()
        return "as", "alphaNumeric" if text == "alphanumeric" else text

    def direction(self, children: list[Token]) -> tuple[str, bool]:
        return "desc", children[0].type == "DESC"

    def nulls_position(self, children: list[Token]) -> tuple[str, str]:
        return "nulls", str(children[0]).lower()

    def score_target(self, children: list[Token]) -> ast.ScoreOrder:
        return ast.ScoreOrder()

    def random_target(self, children: list[Token]) -> ast.RandomOrder:
        return ast.RandomOrder(_value(children[1]) if len(children) > 1 else None)

    def projection(self, children: list[Any]) -> ast.Projection:
        alias = None
        if len(children) > 1:
            token = children[1]
            alias = _unquote(token) if token.type == "STRING" else str(token)
        return ast.Projection(children[0], alias)

    # -- fields and values

    def id_field(self, children: list[Token]) -> ast.IdField:
        return ast.IdField(str(children[1]) if len(children) > 1 else None, position=children[0].start_pos)

    def path(self, children: list[ast.PathSegment]) -> ast.FieldPath:
        return ast.FieldPath(tuple(children))

    def segment(self, children: list[Token]) -> ast.PathSegment:
        token = children[0]
        quoted = token.type == "STRING"
        name = _unquote(token) if quoted else str(token)
        return ast.PathSegment(name, array=len(children) > 1, quoted=quoted, position=token.start_pos)

    def value(self, children: list[Token]) -> ast.Value:
        return _value(children[0])

    def true_value(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(True)

    def null_value(self, children: list[Token]) -> ast.Literal:
        return ast.Literal(None)

    def compare_exchange_value(self, children: list[Token]) -> ast.CompareExchangeValue:
        key = _value(children[1])
        assert isinstance(key, ast.Literal | ast.Parameter)
        return ast.CompareExchangeValue(key)


@dataclasses.dataclass(frozen=True)
class _Explanations:
    options: ast.Parameter | bool


def _include_path(path: ast.FieldPath) -> ast.FieldPath:
    """A quoted include (``include 'Lines[].Product'``, as the clients write nested paths) is a path."""
    if len(path.segments) != 1 or not path.segments[0].quoted:
        return path
    quoted = path.segments[0]
    return ast.FieldPath(tuple(
        ast.PathSegment(part.removesuffix("[]"), array=part.endswith("[]"), position=quoted.position)
        for part in quoted.name.split(".")))


def _embedding_kind(token: Token) -> str:
    return str(token).split(".", 1)[1].lower()



def _literal_of(name: str) -> str | None:
    try:
        pattern = _parser().get_terminal(name).pattern
    except KeyError:
        return None
    return str(pattern.value) if pattern.type == "str" else None


def _translate_lark_error(error: LarkError, text: str) -> RookError:
    return translate_lark_error(error, text, _literal_of)
