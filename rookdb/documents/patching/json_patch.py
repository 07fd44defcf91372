"""JSON Patch (RFC 6902) on a document: ``add``, ``remove``, ``replace``, ``move``, ``copy``, ``test``,
with JSON Pointer paths (RFC 6901: ``/Address/City``, ``/Items/0``, ``/Items/-`` to append).

The operations apply in order to a copy; any failure fails the whole patch and changes nothing.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

from rookdb.errors import BadRequestError

__all__ = ["apply_json_patch", "parse_pointer"]

_OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class _PatchFailure(BadRequestError):
    pass


def parse_pointer(pointer: Any) -> list[str]:
    """The segments of a JSON Pointer (``~1`` is ``/``, ``~0`` is ``~``); ``""`` is the whole document."""
    if not isinstance(pointer, str) or (pointer and not pointer.startswith("/")):
        raise BadRequestError(f"JSON patch path {pointer!r} is not a JSON pointer (it must start with '/').")
    if pointer == "":
        return []
    return [segment.replace("~1", "/").replace("~0", "~") for segment in pointer[1:].split("/")]


def _index(container: list[Any], segment: str, pointer: Any, *, appending: bool) -> int:
    if appending and segment == "-":
        return len(container)
    if not segment.isdigit() or (len(segment) > 1 and segment.startswith("0")):
        raise _PatchFailure(f"JSON patch path '{pointer}': '{segment}' is not an array index.")
    index = int(segment)
    limit = len(container) if appending else len(container) - 1
    if index > limit:
        raise _PatchFailure(f"JSON patch path '{pointer}': index {index} is out of range.")
    return index


def _parent(document: Any, segments: list[str], pointer: Any) -> Any:
    current = document
    for segment in segments[:-1]:
        if isinstance(current, dict) and segment in current:
            current = current[segment]
        elif isinstance(current, list):
            current = current[_index(current, segment, pointer, appending=False)]
        else:
            raise _PatchFailure(f"JSON patch path '{pointer}' does not exist in the document.")
    return current


def _located(document: Any, pointer: Any) -> tuple[Any, str | int]:
    """The container holding what ``pointer`` names, and its key or index there (which must exist)."""
    segments = parse_pointer(pointer)
    if not segments:
        raise _PatchFailure("JSON patch cannot take the whole document.")
    parent = _parent(document, segments, pointer)
    last = segments[-1]
    if isinstance(parent, dict) and last in parent:
        return parent, last
    if isinstance(parent, list):
        return parent, _index(parent, last, pointer, appending=False)
    raise _PatchFailure(f"JSON patch path '{pointer}' does not exist in the document.")


def _get(document: Any, pointer: Any) -> Any:
    if not parse_pointer(pointer):
        return document
    container, key = _located(document, pointer)
    return container[key]


def _add(document: Any, pointer: Any, value: Any) -> None:
    segments = parse_pointer(pointer)
    if not segments:
        raise _PatchFailure("JSON patch cannot replace the whole document.")
    parent = _parent(document, segments, pointer)
    last = segments[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        parent.insert(_index(parent, last, pointer, appending=True), value)
    else:
        raise _PatchFailure(f"JSON patch path '{pointer}' does not exist in the document.")


def _remove(document: Any, pointer: Any) -> Any:
    container, key = _located(document, pointer)
    return container.pop(key)


def apply_json_patch(document: dict[str, Any], operations: Sequence[Any]) -> dict[str, Any]:
    """The document after ``operations``; raises `BadRequestError` naming the failing operation."""
    if not isinstance(operations, list | tuple):
        raise BadRequestError("A JSON patch must be a list of operations.")
    patched = copy.deepcopy(document)
    for number, operation in enumerate(operations):
        if not isinstance(operation, dict) or operation.get("op") not in _OPERATIONS:
            raise BadRequestError(f"JSON patch operation {number} must be an object whose 'op' is one of "
                                  f"{', '.join(_OPERATIONS)}.")
        kind, path = operation["op"], operation.get("path")
        if kind in ("add", "replace", "test") and "value" not in operation:
            raise BadRequestError(f"JSON patch operation {number} ({kind}) has no 'value'.")
        try:
            if kind == "add":
                _add(patched, path, copy.deepcopy(operation["value"]))
            elif kind == "remove":
                _remove(patched, path)
            elif kind == "replace":
                _get(patched, path)
                _remove(patched, path)
                _add(patched, path, copy.deepcopy(operation["value"]))
            elif kind == "move":
                source = operation.get("from")
                if isinstance(path, str) and isinstance(source, str) and path.startswith(source + "/"):
                    raise _PatchFailure(f"JSON patch cannot move '{source}' into itself.")
                _add(patched, path, _remove(patched, source))
            elif kind == "copy":
                _add(patched, path, copy.deepcopy(_get(patched, operation.get("from"))))
            elif _get(patched, path) != operation["value"]:
                raise _PatchFailure(f"JSON patch test failed: '{path}' is not {operation['value']!r}.")
        except _PatchFailure as failure:
            raise BadRequestError(f"JSON patch operation {number} ({kind}) failed: {failure.message}") from None
    return patched
