"""Evaluating field paths (``Address.City``, ``Lines[].ProductName``) against JSON documents.

Arrays met along a path are walked element by element whether or not the path marks them with
``[]``, as RavenDB's auto-indexes do, so ``Lines.ProductName`` and ``Lines[].ProductName`` reach
the same values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

__all__ = ["project", "values_at"]


def values_at(document: Any, names: Sequence[str], *, flatten: bool = True) -> list[Any]:
    """Every value ``names`` reaches; ``[]`` when the path is missing, ``[None]`` for a null.

    With ``flatten`` (the default) an array at the end of the path contributes its elements, so
    a comparison matches when any element does; without it the array is returned as one value.
    """
    current = [document]
    for name in names:
        reached: list[Any] = []
        for item in current:
            _step(item, name, reached)
        if not reached:
            return reached
        current = reached
    if not flatten:
        return current
    leaves: list[Any] = []
    for value in current:
        _flatten_into(value, leaves)
    return leaves


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


def _step(item: Any, name: str, reached: list[Any]) -> None:
    if isinstance(item, dict):
        if name in item:
            reached.append(item[name])
    elif isinstance(item, list):
        for element in item:
            _step(element, name, reached)


def _flatten_into(value: Any, out: list[Any]) -> None:
    if isinstance(value, list):
        for element in value:
            _flatten_into(element, out)
    else:
        out.append(value)
