"""What was worked out from a parsed query, kept by the parsed query's identity.

The parser shares one parsed query between the requests of the same text, so a fact that depends on
the text alone is worked out once per text. Each entry keeps its parsed query alive, so that its
identity cannot pass to another query while the entry stands.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

from rookdb.query import ast

__all__ = ["ByParsedQuery"]

T = TypeVar("T")


class ByParsedQuery(Generic[T]):
    """A bounded memo of one fact per parsed query; past ``size`` entries it starts over."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._known: dict[int, tuple[ast.Query, T]] = {}

    def get(self, parsed: ast.Query, work: Callable[[], T]) -> T:
        """The fact for ``parsed``: ``work()`` the first time, the kept answer after."""
        known = self._known.get(id(parsed))
        if known is not None and known[0] is parsed:
            return known[1]
        found = work()
        if len(self._known) >= self._size:
            self._known.clear()
        self._known[id(parsed)] = (parsed, found)
        return found
