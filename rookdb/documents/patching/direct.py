"""Patch scripts simple enough to run without the JavaScript host, with the host's exact results.

Most patches set, delete or add to a few fields: ``this.Name = "x"``, ``this.Address.City = $city``,
``delete this.Temp``, ``this.Stock += 10``. Such a script is parsed here (a tokenizer and a small
recursive-descent parser over that subset of JavaScript) and applied to the parsed document in
Python. Anything outside the subset, and any run where JavaScript would do something other than a
plain write (a missing or non-object parent, ``+=`` on a non-number), goes to the host as before:
`DirectScript.apply` undoes what it did and answers False.

The result is what the host would have answered: the host sees the document through
``JSON.parse``/``JSON.stringify``, so numbers become doubles (``10.0`` is stored as ``10``) and
integer-like keys come first in ascending order; `js_round_trip` gives a document the same shape.
"""

from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from rookdb.storage.javascript_shape import LARGEST_EXACT_INTEGER

__all__ = ["DirectScript", "direct_script", "js_round_trip"]

_IDENTIFIER = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*")
_NUMBER = re.compile(r"(?:0|[1-9][0-9]*)(?:\.[0-9]*)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?")
_PUNCTUATORS = ("+=", "-=", "=", ".", "[", "]", "{", "}", "(", ")", ",", ":", ";", "-")
_SIMPLE_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", "v": "\v", "'": "'", '"': '"',
                   "\\": "\\"}
_LINE_TERMINATORS = "\n\r\u2028\u2029"
_HEX_DIGITS = frozenset("0123456789abcdefABCDEF")
# JavaScript words that are never a plain value here (``this``, literals and ``delete`` are handled).
_RESERVED = frozenset({"var", "let", "const", "function", "return", "if", "else", "for", "while", "do", "new",
                       "typeof", "void", "in", "instanceof", "with", "switch", "try", "throw", "class"})
_MISSING: Any = object()


class _Unsupported(Exception):
    """The script (or a value it uses) is outside the subset: the JavaScript host runs it."""


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "number", "string", "punct", "end"
    value: Any
    newline_before: bool


def _string(text: str, start: int) -> tuple[str, int]:
    quote = text[start]
    out: list[str] = []
    index = start + 1
    while index < len(text):
        char = text[index]
        if char == quote:
            return "".join(out), index + 1
        if char in _LINE_TERMINATORS:
            raise _Unsupported
        if char != "\\":
            out.append(char)
            index += 1
            continue
        escape = text[index + 1:index + 2]
        if escape in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[escape])
            index += 2
        elif escape == "0" and not text[index + 2:index + 3].isdigit():
            out.append("\0")
            index += 2
        elif escape in ("x", "u"):
            width = 2 if escape == "x" else 4
            digits = text[index + 2:index + 2 + width]
            if len(digits) != width or not all(digit in _HEX_DIGITS for digit in digits):
                raise _Unsupported  # \u{...} and malformed escapes
            code = int(digits, 16)
            if 0xD800 <= code <= 0xDFFF:  # a UTF-16 half: leave pairing to the engine
                raise _Unsupported
            out.append(chr(code))
            index += 2 + width
        elif escape and not escape.isdigit() and escape not in "xu" and escape not in _LINE_TERMINATORS:
            out.append(escape)  # a needless escape stands for the character itself
            index += 2
        else:
            raise _Unsupported
    raise _Unsupported


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    index = 0
    newline = False
    while index < len(text):
        char = text[index]
        if char in " \t\f\v\ufeff\xa0":
            index += 1
        elif char in _LINE_TERMINATORS:
            newline = True
            index += 1
        elif text.startswith("//", index):
            while index < len(text) and text[index] not in _LINE_TERMINATORS:
                index += 1
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            if end < 0:
                raise _Unsupported
            newline = newline or any(mark in text[index:end] for mark in _LINE_TERMINATORS)
            index = end + 2
        else:
            token, index = _token(text, index, newline)
            tokens.append(token)
            newline = False
    tokens.append(_Token("end", None, True))
    return tokens


def _token(text: str, index: int, newline: bool) -> tuple[_Token, int]:
    char = text[index]
    if char in "'\"":
        string, end = _string(text, index)
        return _Token("string", string, newline), end
    number = _NUMBER.match(text, index)
    if number is not None and (char.isdigit() or char == "."):
        end = number.end()
        if end < len(text) and (text[end].isalnum() or text[end] in "_$."):
            raise _Unsupported  # 1a, 1_000, 0x10, 1..toString(): leave them to the engine
        literal = number.group()
        value: int | float = int(literal) if literal.isdigit() else float(literal)
        return _Token("number", value, newline), end
    name = _IDENTIFIER.match(text, index)
    if name is not None:
        if name.end() < len(text) and (ord(text[name.end()]) > 127 or text[name.end()] == "\\"):
            raise _Unsupported
        return _Token("name", name.group(), newline), name.end()
    for punctuator in _PUNCTUATORS:
        if text.startswith(punctuator, index):
            if punctuator in "+-=" and text[index + len(punctuator):index + len(punctuator) + 1] in ("=", ">", "+",
                                                                                                        "-"):
                raise _Unsupported  # ==, =>, ++, --, +=== ...
            return _Token("punct", punctuator, newline), index + len(punctuator)
    raise _Unsupported


@dataclass(frozen=True)
class _Param:
    name: str


@dataclass(frozen=True)
class _Statement:
    operator: str  # "=", "+=", "-=", "delete"
    path: tuple[str, ...]  # property names below ``this``
    value: Any = None  # a JSON value, a _Param, or a list/dict holding _Params


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.at = 0
        self.alias: str | None = None

    def peek(self) -> _Token:
        return self.tokens[self.at]

    def take(self, kind: str, value: Any = None) -> _Token:
        token = self.tokens[self.at]
        if token.kind != kind or (value is not None and token.value != value):
            raise _Unsupported
        self.at += 1
        return token

    def accept(self, kind: str, value: Any) -> bool:
        token = self.tokens[self.at]
        if token.kind == kind and token.value == value:
            self.at += 1
            return True
        return False

    def program(self) -> list[_Statement]:
        if self.accept("name", "var"):
            alias = self.take("name").value
            if alias in _RESERVED or alias in ("this", "args", "delete", "true", "false", "null") or "$" in alias:
                raise _Unsupported
            self.take("punct", "=")
            self.take("name", "this")
            self.end_of_statement()
            self.alias = alias
        statements: list[_Statement] = []
        while self.peek().kind != "end":
            statements.append(self.statement())
            self.end_of_statement()
        return statements

    def end_of_statement(self) -> None:
        # A semicolon, or automatic insertion before a new line or the end; every statement here starts
        # with a word that cannot continue the previous one, so insertion is what the engine does too.
        if not self.accept("punct", ";") and not self.peek().newline_before:
            raise _Unsupported

    def statement(self) -> _Statement:
        if self.accept("name", "delete"):
            return _Statement("delete", self.target())
        path = self.target()
        operator = self.take("punct").value
        if operator not in ("=", "+=", "-="):
            raise _Unsupported
        return _Statement(operator, path, self.value())

    def target(self) -> tuple[str, ...]:
        base = self.take("name").value
        if base != "this" and base != self.alias:
            raise _Unsupported
        path: list[str] = []
        while True:
            if self.accept("punct", "."):
                path.append(self.take("name").value)
            elif self.accept("punct", "["):
                path.append(self.take("string").value)
                self.take("punct", "]")
            else:
                break
        if not path or "__proto__" in path:
            raise _Unsupported
        return tuple(path)

    def value(self) -> Any:
        token = self.peek()
        self.at += 1
        if token.kind in ("number", "string"):
            return token.value
        if token.kind == "punct" and token.value == "-":
            number = self.take("number").value
            return -number if number != 0 else 0
        if token.kind == "punct" and token.value == "[":
            items: list[Any] = []
            while not self.accept("punct", "]"):
                items.append(self.value())
                if not self.accept("punct", ","):
                    self.take("punct", "]")
                    break
            return items
        if token.kind == "punct" and token.value == "{":
            fields: dict[str, Any] = {}
            while not self.accept("punct", "}"):
                key = self.peek()
                if key.kind not in ("name", "string") or key.value == "__proto__" or key.value in fields:
                    raise _Unsupported
                self.at += 1
                self.take("punct", ":")
                fields[key.value] = self.value()
                if not self.accept("punct", ","):
                    self.take("punct", "}")
                    break
            return fields
        if token.kind == "name":
            return self.name_value(token.value)
        raise _Unsupported

    def name_value(self, name: str) -> Any:
        literals = {"true": True, "false": False, "null": None}
        if name in literals:
            return literals[name]
        if name.startswith("$") and len(name) > 1 and name != self.alias:
            return _Param(name[1:])
        if name == "args":
            if self.accept("punct", "."):
                return _Param(self.take("name").value)
            self.take("punct", "[")
            key = self.take("string").value
            self.take("punct", "]")
            return _Param(key)
        raise _Unsupported


def _number(value: float) -> int | float:
    """The number JavaScript's double ``value`` reads back as after ``JSON.stringify`` and orjson."""
    if not math.isfinite(value):
        raise _Unsupported
    if not value.is_integer() or abs(value) >= 1e21:
        return value  # written with a fraction or an exponent: read back as the same double
    if abs(value) <= LARGEST_EXACT_INTEGER:
        return int(value)
    # JavaScript writes the shortest digits that read back as the double, padded with zeros
    # (2**60 is written 1152921504606847000), as Python's repr finds them.
    written = int(Decimal(repr(value)))
    return written if -(2 ** 63) <= written <= 2 ** 64 - 1 else value


def _is_array_index(key: str) -> bool:
    return key.isdigit() and (key == "0" or key[0] != "0") and len(key) <= 10 and int(key) < 2 ** 32 - 1


def js_round_trip(value: Any) -> Any:
    """``value`` as it comes back from ``JSON.parse`` + ``JSON.stringify`` in JavaScript (objects are
    changed in place where possible)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if type(item) is not str:
                value[key] = js_round_trip(item)
        if any(_is_array_index(key) for key in value if key[:1].isdigit()):
            indexes = sorted((key for key in value if _is_array_index(key)), key=int)
            ordered = {key: value[key] for key in indexes}
            ordered.update((key, item) for key, item in value.items() if key not in ordered)
            value.clear()
            value.update(ordered)
        return value
    if isinstance(value, list):
        for index, item in enumerate(value):
            if type(item) is not str:
                value[index] = js_round_trip(item)
        return value
    if type(value) is int:
        return value if -LARGEST_EXACT_INTEGER <= value <= LARGEST_EXACT_INTEGER else _number(float(value))
    if type(value) is float:
        return _number(value)
    return value


def _bind(value: Any, args: dict[str, Any]) -> Any:
    if isinstance(value, _Param):
        if value.name not in args:
            raise _Unsupported  # undefined: ReferenceError for $name, a dropped field for args.name
        return js_round_trip(_json_copy(args[value.name]))
    if isinstance(value, list):
        return [_bind(item, args) for item in value]
    if isinstance(value, dict):
        return {key: _bind(item, args) for key, item in value.items()}
    return js_round_trip(value)


def _json_copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    return value


def _has_index_key(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_is_array_index(key) or _has_index_key(item) for key, item in value.items())
    if isinstance(value, list):
        return any(_has_index_key(item) for item in value)
    return False


def _uses_param(value: Any) -> bool:
    if isinstance(value, _Param):
        return True
    if isinstance(value, list):
        return any(_uses_param(item) for item in value)
    if isinstance(value, dict):
        return any(_uses_param(item) for item in value.values())
    return False


class DirectScript:
    """A parsed script of the subset, bound to its arguments; `apply` runs it on one document."""

    def __init__(self, statements: list[_Statement], args: dict[str, Any]) -> None:
        mutates_below = any(len(statement.path) > 1 for statement in statements)
        bound: list[tuple[str, tuple[str, ...], Any]] = []
        for statement in statements:
            value = _bind(statement.value, args) if statement.operator != "delete" else None
            if statement.operator in ("+=", "-=") and (type(value) not in (int, float)):
                raise _Unsupported  # adding a string concatenates: the engine formats the number
            if isinstance(value, dict | list) and mutates_below and _uses_param(statement.value):
                # The host shares one args object across a batch: a write below it would leak between
                # documents there, so such scripts stay with the host.
                raise _Unsupported
            bound.append((statement.operator, statement.path, value))
        self._statements = bound
        # Values are bound in their JavaScript shape already; only a new integer-like key moves.
        self._keeps_shape = not any(_is_array_index(name) or _has_index_key(value)
                                    for _, path, value in bound for name in path)

    @property
    def statements(self) -> list[tuple[str, tuple[str, ...], Any]]:
        """(operator, path below ``this``, bound value) in script order; operators ``=``, ``+=``, ``-=``,
        ``delete``; values are in their JavaScript shape."""
        return list(self._statements)

    @property
    def keeps_shape(self) -> bool:
        """False when a statement writes an integer-like key (JavaScript moves those first)."""
        return self._keeps_shape

    def apply(self, document: dict[str, Any], *, shaped: bool = False) -> bool:
        """Run the script on ``document`` in place; False (``document`` unchanged) when the JavaScript
        host must run it instead. ``shaped``: the document is known to be `js_shaped`."""
        undo: list[tuple[dict[str, Any], str, Any, int]] = []
        for operator, path, value in self._statements:
            parent: Any = document
            for name in path[:-1]:
                parent = parent.get(name, _MISSING)
                if type(parent) is not dict:  # undefined/null: TypeError; a primitive: ignored
                    _undo(undo)
                    return False
            key = path[-1]
            old = parent.get(key, _MISSING)
            if operator == "=":
                undo.append((parent, key, old, -1))
                parent[key] = _json_copy(value) if isinstance(value, dict | list) else value
            elif operator == "delete":
                if old is not _MISSING:
                    undo.append((parent, key, old, list(parent).index(key)))
                    del parent[key]
            else:
                if type(old) not in (int, float):
                    _undo(undo)
                    return False
                total = float(old) + float(value) if operator == "+=" else float(old) - float(value)
                undo.append((parent, key, old, -1))
                parent[key] = _number(total) if math.isfinite(total) else None
        if not (shaped and self._keeps_shape):
            js_round_trip(document)
        return True


def _undo(undo: list[tuple[dict[str, Any], str, Any, int]]) -> None:
    for parent, key, old, position in reversed(undo):
        if position >= 0:  # a deleted key goes back where it was
            items = list(parent.items())
            items.insert(position, (key, old))
            parent.clear()
            parent.update(items)
        elif old is _MISSING:
            del parent[key]
        else:
            parent[key] = old


@functools.lru_cache(maxsize=256)
def _parsed(script: str) -> list[_Statement] | None:
    try:
        statements = _Parser(script).program()
    except (_Unsupported, IndexError):
        return None
    return statements or None


def direct_script(script: str, args: dict[str, Any]) -> DirectScript | None:
    """``script`` bound to ``args`` when it can run without the host, else None."""
    statements = _parsed(script)
    if statements is None:
        return None
    try:
        return DirectScript(statements, args)
    except _Unsupported:
        return None
