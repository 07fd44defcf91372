"""Patch scripts whose whole effect a storage can apply inside the database (``edit_fields``).

A script of `direct`'s subset qualifies when each statement sets a field to a JSON scalar (a constant,
``$name`` or ``args.name``), adds or subtracts an integer, or deletes a field, on paths outside
``@metadata`` that no other statement of the script reaches (so their order only decides where new
keys go). Everything else — objects and arrays as values, fractional increments, keys a JSON path
cannot name — keeps the general path.
"""

from __future__ import annotations

from rookdb.documents.patching.direct import direct_script
from rookdb.documents.patching.request import PatchRequest
from rookdb.storage.base import FieldEdit
from rookdb.storage.javascript_shape import LARGEST_EXACT_INTEGER

__all__ = ["field_edits"]


def _nameable(key: str) -> bool:
    """True when a quoted JSON path step names ``key`` exactly and JavaScript keeps its place."""
    return bool(key) and not key.isdigit() and not any(char in '"\\' or char < " " for char in key)


def _overlaps(paths: list[tuple[str, ...]]) -> bool:
    return any(index != other and second[:len(first)] == first
               for index, first in enumerate(paths) for other, second in enumerate(paths))


def field_edits(request: PatchRequest) -> tuple[FieldEdit, ...] | None:
    """The script of ``request`` as field edits, or None when it must run document by document."""
    direct = direct_script(request.script, request.values)
    if direct is None or not direct.keeps_shape:
        return None
    edits: list[FieldEdit] = []
    for operator, path, value in direct.statements:
        if path[0] == "@metadata" or not all(_nameable(key) for key in path):
            return None
        if operator == "delete":
            edits.append(FieldEdit("delete", path))
        elif operator == "=":
            if isinstance(value, dict | list):
                return None
            edits.append(FieldEdit("set", path, value))
        elif type(value) is int and abs(value) <= LARGEST_EXACT_INTEGER:
            edits.append(FieldEdit("add", path, value if operator == "+=" else -value))
        else:
            return None
    if _overlaps([edit.path for edit in edits]):
        return None
    return tuple(edits)
