"""Evaluating field paths (``Address.City``, ``Lines[].ProductName``) against JSON documents.

Arrays met along a path are walked element by element whether or not the path marks them with
``[]``, as RavenDB's auto-indexes do, so ``Lines.ProductName`` and ``Lines[].ProductName`` reach
the same values (the rule is the index engine's: ``rookdb.indexes.values``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.indexes.values import values_at

__all__ = ["project", "values_at"]


def project(document: Any, names: Sequence[str]) -> Any:
    """The value a ``select`` of ``names`` returns: a single value, or a list when arrays were crossed.

    A missing path projects as ``None``, as RavenDB returns ``null`` for a missing field.
    """
    current: Any = document
    for index, name in enumerate(names):
        if isinstance(current, dict):
            current = current.get(name)
        elif isinstance(current, list):
            return values_at(current, names[index:], flatten=False)
        else:
            return None
    return current
