"""The parser's error boundary: every lark exception becomes ``InvalidQueryError`` with line, column,
the offending token, what was expected and ``position`` (the character offset); lark types never
escape ``rookdb.query.parser``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lark.exceptions import (
    ConfigurationError,
    GrammarError,
    LarkError,
    LexError,
    MissingVariableError,
    ParseError,
    UnexpectedCharacters,
    UnexpectedEOF,
    UnexpectedInput,
    UnexpectedToken,
    VisitError,
)

from rookdb.errors import InvalidQueryError, RookError

__all__ = ["LARK_ERRORS", "LiteralOf", "at_position", "translate_lark_error"]

# Regex terminals, described for people; string terminals are shown as their quoted text.
_TERMINAL_NAMES = {
    "$END": "end of query",
    "NAME": "a name",
    "STRING": "a string",
    "NUMBER": "a number",
    "PARAM": "a $parameter",
    "OP": "a comparison operator",
    "ASC": "'asc'",
    "DESC": "'desc'",
    "STARTS_WITH": "'startsWith('",
    "ENDS_WITH": "'endsWith('",
    "EXISTS": "'exists('",
    "SEARCH": "'search('",
    "REGEX": "'regex('",
    "EXACT": "'exact('",
    "BOOST": "'boost('",
    "ID": "'id('",
    "SCORE": "'score('",
    "RANDOM": "'random('",
    "VECTOR_SEARCH": "'vector.search('",
    "EMBEDDING": "'embedding.<type>('",
    "FOR_DOC": "'embedding.forDoc('",
    "AI_TASK": "'ai.task('",
    "CMPXCHG": "'cmpxchg('",
    "TIMINGS": "'timings('",
    "EXPLANATIONS": "'explanations('",
    "HIGHLIGHT": "'highlight('",
    "JS_OBJECT": "a JavaScript object",
    "INTERSECT": "'intersect('",
    "FUZZY": "'fuzzy('",
    "LUCENE": "'lucene('",
}


LiteralOf = Callable[[str], str | None]
"""The text of a grammar terminal that is a plain string (None for a pattern or an unknown name)."""


def _describe_terminal(name: str, literal_of: LiteralOf) -> str:
    if name in _TERMINAL_NAMES:
        return _TERMINAL_NAMES[name]
    literal = literal_of(name)
    if literal is not None:
        return f"'{literal}'"
    return name.lower().lstrip("_")


def _expected(names: set[str] | frozenset[str] | None, literal_of: LiteralOf) -> str:
    if not names:
        return ""
    described = sorted({_describe_terminal(name, literal_of) for name in names})
    return "; expected " + (described[0] if len(described) == 1 else "one of: " + ", ".join(described))


def _pointer(text: str, line: int, column: int) -> str:
    lines = text.splitlines() or [""]
    source_line = lines[min(max(line, 1), len(lines)) - 1]
    return f"\n  {source_line}\n  {' ' * max(column - 1, 0)}^"


def _line_column(text: str, position: int) -> tuple[int, int]:
    line = text.count("\n", 0, position) + 1
    return line, position - (text.rfind("\n", 0, position) + 1) + 1


def at_position(message: str, text: str, position: int, expected: str = "") -> InvalidQueryError:
    line, column = _line_column(text, position)
    full = f"Invalid query at line {line}, column {column}: {message}{expected}"
    return InvalidQueryError(full + _pointer(text, line, column), query=text, position=position)


def _unexpected_token(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    assert isinstance(error, UnexpectedToken)
    token = error.token
    if token.type == "$END":
        return at_position("unexpected end of query", text, len(text), _expected(error.expected, literal_of))
    position = token.start_pos if token.start_pos is not None else len(text)
    return at_position(f"unexpected '{token}'", text, position, _expected(error.expected, literal_of))


def _unexpected_characters(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    assert isinstance(error, UnexpectedCharacters)
    char = error.char
    message = "unterminated string" if char in "'\"" else f"unexpected character '{char}'"
    position: Any = error.pos_in_stream  # typed None in lark's stubs, always set for this error
    return at_position(message, text, int(position), _expected(error.allowed, literal_of))


def _unexpected_eof(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    assert isinstance(error, UnexpectedEOF)
    return at_position("unexpected end of query", text, len(text), _expected(set(error.expected), literal_of))


def _unexpected_input(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    assert isinstance(error, UnexpectedInput)
    position = error.pos_in_stream if error.pos_in_stream is not None else len(text)
    return at_position("unexpected input", text, position)


def _invalid(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    return InvalidQueryError(f"Invalid query: {error}", query=text)


def _visit_error(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    assert isinstance(error, VisitError)
    if isinstance(error.orig_exc, InvalidQueryError):
        return error.orig_exc
    return InvalidQueryError(f"Invalid query: {error.orig_exc}", query=text)


def _internal(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    # The grammar is ours: these mean a rookdb bug, not a bad query.
    return RookError(f"The RQL parser is misconfigured: {error}")


LARK_ERRORS: dict[type[LarkError], Callable[[LarkError, str, LiteralOf], RookError]] = {
    UnexpectedToken: _unexpected_token,
    UnexpectedCharacters: _unexpected_characters,
    UnexpectedEOF: _unexpected_eof,
    UnexpectedInput: _unexpected_input,
    ParseError: _invalid,
    LexError: _invalid,
    VisitError: _visit_error,
    GrammarError: _internal,
    ConfigurationError: _internal,
    MissingVariableError: _internal,
    LarkError: _internal,
}


def translate_lark_error(error: LarkError, text: str, literal_of: LiteralOf) -> RookError:
    """Map a lark exception to the rookdb error for it (the most specific class wins); ``literal_of``
    spells the grammar's string terminals in "expected ..." lists."""
    handler = next(LARK_ERRORS[cls] for cls in type(error).__mro__ if cls in LARK_ERRORS)
    return handler(error, text, literal_of)
