"""The SQL functions an index file's queries call: prefix, suffix, regex and fuzzy matching of a stored
value, and the sloppy-phrase frequency of ``proximity()``; registered on every connection that reads."""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Callable
from typing import Any

from rookdb.indexes import fulltext

__all__ = ["REGEX_FLAGS", "register_functions"]


def _starts(text: Any, prefix: str) -> bool:
    return isinstance(text, str) and text.startswith(prefix)


def _ends(text: Any, suffix: str) -> bool:
    return isinstance(text, str) and text.endswith(suffix)


def _regex(text: Any, pattern: str) -> bool:
    return isinstance(text, str) and _compiled(pattern).search(text) is not None


# RavenDB matches regex() ignoring case (its docs' `regex(Name, '^[NA]')` and its tests' `'^[a-z ]{2,4}love'`
# on "I love cats" both match).
REGEX_FLAGS = re.IGNORECASE


@functools.lru_cache(maxsize=64)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern, REGEX_FLAGS)


def _similar(text: Any, term: str, similarity: float) -> bool:
    return isinstance(text, str) and fulltext.similar(text, term, similarity)


_FUNCTIONS: list[tuple[str, int, Callable[..., bool | float]]] = [
    ("rk_starts", 2, _starts), ("rk_ends", 2, _ends), ("rk_regex", 2, _regex), ("rk_similar", 3, _similar),
    (fulltext.SLOPPY_FUNCTION, 3, fulltext.sloppy_in_body)]


def register_functions(connection: sqlite3.Connection) -> None:
    for name, arguments, function in _FUNCTIONS:
        connection.create_function(name, arguments, function, deterministic=True)
