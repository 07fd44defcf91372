"""LINQ text → syntax tree (``rookdb.indexes.linq.ast``), and the error boundary of the parser library.

Every lark exception becomes an ``IndexCompilationError`` naming the line and column of the problem;
lark types never escape. Parsed texts are cached: the same map is compiled again at every restart and
for every ``IndexHasChanged`` check.
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from typing import Any, TypedDict

import lark
from lark import Token, Transformer, v_args
from lark.exceptions import LarkError, UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from rookdb.errors import IndexCompilationError
from rookdb.indexes.linq import ast

__all__ = ["parse_linq"]

_PARSE_CACHE_SIZE = 256
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "0": "\0", "a": "\a", "v": "\v"}
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|x[0-9a-fA-F]{1,4}|.)", re.DOTALL)
_CAST = re.compile(r"\(\s*(\w+)\s*(\?)?\s*\)")
_PARAMETER = re.compile(r"[A-Za-z_]\w*")


def parse_linq(text: str, property_name: str = "Maps") -> ast.Expr:
    """Parse a map or reduce; ``IndexCompilationError`` (naming ``property_name``) when it is not LINQ."""
    return _parse_cached(text, property_name)


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(text: str, property_name: str) -> ast.Expr:
    try:
        tree = _parser().parse(text)
    except UnexpectedInput as error:
        raise IndexCompilationError(_describe(error, text), definition_property=property_name,
                                    problematic_text=text) from None
    except _BuildError as error:
        raise IndexCompilationError(f"{error.message} (line {error.line}, column {error.column})",
                                    definition_property=property_name, problematic_text=text) from None
    except VisitError as error:
        raise IndexCompilationError(f"Cannot parse the {property_name}: {error.orig_exc}",
                                    definition_property=property_name, problematic_text=text) from error
    except LarkError as error:
        raise IndexCompilationError(f"Cannot parse the {property_name}: {error}", definition_property=property_name,
                                    problematic_text=text) from error
    assert isinstance(tree, ast.Literal | ast.Name | ast.Member | ast.Element | ast.Call | ast.Lambda | ast.Binary
                      | ast.Unary | ast.Conditional | ast.Coalesce | ast.Cast | ast.IsNull | ast.AnonymousObject
                      | ast.NewArray | ast.Query)
    return tree


@functools.cache
def _parser() -> lark.Lark:
    grammar = resources.files("rookdb.indexes.linq").joinpath("grammar.lark").read_text(encoding="utf-8")
    return lark.Lark(grammar, parser="lalr", lexer="contextual", transformer=_TreeBuilder(),
                     maybe_placeholders=False)


def _describe(error: UnexpectedInput, text: str) -> str:
    where = f"line {error.line}, column {error.column}"
    if isinstance(error, UnexpectedToken):
        token = error.token
        if token.type == "$END":
            return f"The expression ends too early (line {_last_line(text)}): something is missing at the end"
        return f"Unexpected '{token}' at {where}"
    if isinstance(error, UnexpectedCharacters):
        position = error.pos_in_stream or 0
        character = text[position] if position < len(text) else ""
        if character == "$":
            return f"Interpolated strings ($\"...\") are not supported (at {where})"
        return f"Unexpected character '{character}' at {where}"
    if isinstance(error, UnexpectedEOF):
        return "The expression ends too early: something is missing at the end"
    return f"Syntax error at {where}"


def _last_line(text: str) -> int:
    return text.count("\n") + 1


class _BuildError(Exception):
    def __init__(self, token: Token, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.line = token.line or 0
        self.column = token.column or 0


class _Position(TypedDict):
    line: int
    column: int


def _at(token: Token) -> _Position:
    return {"line": token.line or 0, "column": token.column or 0}


def _node_at(node: ast.Node) -> _Position:
    return {"line": node.line, "column": node.column}


def _name(token: Token) -> str:
    text = str(token)
    return text[1:] if text.startswith("@") else text


def _unescape(body: str) -> str:
    def replace(match: re.Match[str]) -> str:
        escape = match.group(1)
        if escape[0] in "ux" and len(escape) > 1:
            return chr(int(escape[1:], 16))
        return _ESCAPES.get(escape, escape)

    return _ESCAPE.sub(replace, body)


def _number(text: str) -> int | float:
    lowered = text.lower()
    if lowered.startswith("0x"):
        return int(lowered.rstrip("lu"), 16)
    core = lowered.rstrip("mdflu")
    if lowered.endswith(("m", "d", "f")) or "." in core or "e" in core:
        return float(core)
    return int(core)


@v_args(inline=True)
class _TreeBuilder(Transformer[Token, Any]):
    """Builds ``ast`` nodes bottom-up while the LALR parser runs."""

    # ---- literals and names

    def string(self, token: Token) -> ast.Literal:
        return ast.Literal(_unescape(str(token)[1:-1]), str(token), **_at(token))

    def verbatim_string(self, token: Token) -> ast.Literal:
        return ast.Literal(str(token)[2:-1].replace('""', '"'), str(token), **_at(token))

    def char(self, token: Token) -> ast.Literal:
        value = _unescape(str(token)[1:-1])
        if len(value) != 1:
            raise _BuildError(token, f"Too many characters in character literal {token}")
        return ast.Literal(value, str(token), **_at(token))

    def number(self, token: Token) -> ast.Literal:
        return ast.Literal(_number(str(token)), str(token), **_at(token))

    def true(self, token: Token) -> ast.Literal:
        return ast.Literal(True, "true", **_at(token))

    def false(self, token: Token) -> ast.Literal:
        return ast.Literal(False, "false", **_at(token))

    def null(self, token: Token) -> ast.Literal:
        return ast.Literal(None, "null", **_at(token))

    def name(self, token: Token) -> ast.Name:
        return ast.Name(_name(token), **_at(token))

    # ---- access and calls

    def member(self, target: ast.Expr, name: Token) -> ast.Member:
        return ast.Member(target, _name(name), **_at(name))

    def conditional_member(self, target: ast.Expr, _: Token, name: Token) -> ast.Member:
        return ast.Member(target, _name(name), conditional=True, **_at(name))

    def element(self, target: ast.Expr, index: ast.Expr) -> ast.Element:
        return ast.Element(target, index, **_node_at(target))

    def conditional_element(self, target: ast.Expr, _: Token, index: ast.Expr) -> ast.Element:
        return ast.Element(target, index, conditional=True, **_node_at(target))

    def arguments(self, expressions: tuple[ast.Expr, ...] = ()) -> tuple[ast.Expr, ...]:
        return expressions

    def expressions(self, *items: ast.Expr) -> tuple[ast.Expr, ...]:
        return items

    def method_call(self, target: ast.Expr, name: Token, *rest: Any) -> ast.Call:
        type_arguments, arguments = _call_parts(rest)
        return ast.Call(target, _name(name), arguments, type_arguments=type_arguments, **_at(name))

    def conditional_method_call(self, target: ast.Expr, _: Token, name: Token, *rest: Any) -> ast.Call:
        type_arguments, arguments = _call_parts(rest)
        return ast.Call(target, _name(name), arguments, conditional=True, type_arguments=type_arguments, **_at(name))

    def function_call(self, name: Token, *rest: Any) -> ast.Call:
        type_arguments, arguments = _call_parts(rest)
        return ast.Call(None, _name(name), arguments, type_arguments=type_arguments, **_at(name))

    def this_call(self, _: Token, name: Token, *rest: Any) -> ast.Call:
        return self.function_call(name, *rest)

    # ---- operators

    def lambda_one(self, parameter: Token, body: ast.Expr) -> ast.Lambda:
        return ast.Lambda((_name(parameter),), body, **_at(parameter))

    def lambda_many(self, parameters: Token, body: ast.Expr) -> ast.Lambda:
        names = tuple(_PARAMETER.findall(str(parameters)))
        if len(set(names)) != len(names):
            raise _BuildError(parameters, f"A lambda repeats a parameter name in {parameters}")
        return ast.Lambda(names, body, **_at(parameters))

    def binary(self, left: ast.Expr, op: Token, right: ast.Expr) -> ast.Binary:
        return ast.Binary(str(op), left, right, **_at(op))

    def or_op(self, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return ast.Binary("||", left, right, **_node_at(left))

    def and_op(self, left: ast.Expr, right: ast.Expr) -> ast.Binary:
        return ast.Binary("&&", left, right, **_node_at(left))

    def not_op(self, operand: ast.Expr) -> ast.Unary:
        return ast.Unary("!", operand, **_node_at(operand))

    def sign(self, op: Token, operand: ast.Expr) -> ast.Expr:
        if isinstance(operand, ast.Literal) and isinstance(operand.value, int | float) \
                and not isinstance(operand.value, bool):
            value = -operand.value if str(op) == "-" else operand.value
            return ast.Literal(value, f"{op}{operand.text}", **_at(op))
        return ast.Unary(str(op), operand, **_at(op))

    def cast(self, cast: Token, operand: ast.Expr) -> ast.Cast:
        match = _CAST.match(str(cast))
        assert match is not None
        return ast.Cast(match.group(1), match.group(2) is not None, operand, **_at(cast))

    def ternary(self, test: ast.Expr, then: ast.Expr, otherwise: ast.Expr) -> ast.Conditional:
        return ast.Conditional(test, then, otherwise, **_node_at(test))

    def coalesce(self, left: ast.Expr, right: ast.Expr) -> ast.Coalesce:
        return ast.Coalesce(left, right, **_node_at(left))

    def is_null(self, operand: ast.Expr, _is: Token, _null: Token) -> ast.IsNull:
        return ast.IsNull(operand, **_node_at(operand))

    def is_not_null(self, operand: ast.Expr, _is: Token, _not: Token, _null: Token) -> ast.IsNull:
        return ast.IsNull(operand, negated=True, **_node_at(operand))

    # ---- object creation

    def anonymous_object(self, new: Token, members: tuple[tuple[str, ast.Expr], ...] = ()) -> ast.AnonymousObject:
        _check_members(members, new)
        return ast.AnonymousObject(members, **_at(new))

    def named_object(self, new: Token, type_name: Token,
                     members: tuple[tuple[str, ast.Expr], ...] = ()) -> ast.AnonymousObject:
        _check_members(members, new)
        return ast.AnonymousObject(members, _name(type_name), **_at(new))

    def new_array(self, new: Token, *rest: Any) -> ast.NewArray:
        items: tuple[ast.Expr, ...] = next((part for part in rest if isinstance(part, tuple)), ())
        return ast.NewArray(items, **_at(new))

    def members(self, *items: tuple[str, ast.Expr]) -> tuple[tuple[str, ast.Expr], ...]:
        return items

    def named_member(self, name: Token, value: ast.Expr) -> tuple[str, ast.Expr]:
        return _name(name), value

    def projected_member(self, value: ast.Expr) -> tuple[str, ast.Expr]:
        if isinstance(value, ast.Member):
            return value.name, value
        if isinstance(value, ast.Name):
            return value.name, value
        raise _BuildError(Token("X", "", line=value.line, column=value.column),
                          "Invalid anonymous type member declarator: a member must be 'Name = value', "
                          "a name or a member access")

    # ---- query syntax

    def query(self, first: ast.FromClause, body: ast.QueryBody) -> ast.Query:
        return ast.Query(first, body, **_node_at(first))

    def from_clause(self, keyword: Token, name: Token, _in: Token, source: ast.Expr) -> ast.FromClause:
        return ast.FromClause(_name(name), source, **_at(keyword))

    def let_clause(self, keyword: Token, name: Token, value: ast.Expr) -> ast.LetClause:
        return ast.LetClause(_name(name), value, **_at(keyword))

    def where_clause(self, keyword: Token, condition: ast.Expr) -> ast.WhereClause:
        return ast.WhereClause(condition, **_at(keyword))

    def orderby_clause(self, keyword: Token, *orderings: ast.Ordering) -> ast.OrderByClause:
        return ast.OrderByClause(orderings, **_at(keyword))

    def ordering(self, key: ast.Expr, direction: Token | None = None) -> ast.Ordering:
        return ast.Ordering(key, direction is not None and direction.type == "DESCENDING", **_node_at(key))

    def select_clause(self, keyword: Token, value: ast.Expr) -> ast.SelectClause:
        return ast.SelectClause(value, **_at(keyword))

    def group_clause(self, keyword: Token, element: ast.Expr, _by: Token, key: ast.Expr) -> ast.GroupClause:
        return ast.GroupClause(element, key, **_at(keyword))

    def continuation(self, keyword: Token, name: Token, body: ast.QueryBody) -> ast.Continuation:
        return ast.Continuation(_name(name), body, **_at(keyword))

    def query_body(self, *parts: Any) -> ast.QueryBody:
        continuation = parts[-1] if parts and isinstance(parts[-1], ast.Continuation) else None
        rest = parts[:-1] if continuation is not None else parts
        final = rest[-1]
        assert isinstance(final, ast.SelectClause | ast.GroupClause)
        return ast.QueryBody(tuple(rest[:-1]), final, continuation, **_node_at(final))

    def start(self, expr: ast.Expr) -> ast.Expr:
        return expr


def _call_parts(rest: tuple[Any, ...]) -> tuple[str | None, tuple[ast.Expr, ...]]:
    type_arguments = None
    arguments: tuple[ast.Expr, ...] = ()
    for part in rest:
        if isinstance(part, Token) and part.type == "TYPE_ARGUMENTS":
            type_arguments = str(part)[1:-1].strip()
        elif isinstance(part, tuple):
            arguments = part
    return type_arguments, arguments


def _check_members(members: tuple[tuple[str, ast.Expr], ...], new: Token) -> None:
    seen: set[str] = set()
    for name, value in members:
        if name in seen and name != "_":
            raise _BuildError(Token("X", "", line=value.line, column=value.column),
                              f"An anonymous type cannot have multiple properties with the same name ('{name}')")
        seen.add(name)
