"""Turning matched documents into query results: projections, ``distinct``, includes."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, TypeAlias

from rookdb.query import ast
from rookdb.query.bindings import Bindings, doc_id
from rookdb.query.paths import project

__all__ = ["DocumentGetter", "Row", "distinct_rows", "gather_includes", "referenced_keys", "render"]

Document: TypeAlias = dict[str, Any]
Row: TypeAlias = tuple[Document, dict[str, Any]]
"""A matched document and the result the client receives for it."""


class DocumentGetter(Protocol):
    def get_document(self, doc_id: str) -> dict[str, Any] | None: ...


def render(doc: Document, score: float | None, select: ast.Select | None, bindings: Bindings) -> Row:
    """The result for one document: the document itself, or its projection; ``@index-score`` when scored."""
    metadata = doc.get("@metadata") or {}
    if select is None:
        if score is None:
            return doc, doc
        return doc, {**doc, "@metadata": {**metadata, "@index-score": score}}
    result: dict[str, Any] = {}
    for projection in select.projections:
        target = projection.field
        if isinstance(target, ast.IdField):
            result[projection.alias or "Id"] = doc_id(doc)
        elif not isinstance(target, ast.FieldPath):
            raise ast.outside_group_by(target, bindings.text)
        else:
            # Unaliased paths keep their dotted name, without the "from ... as x" alias.
            names = bindings.names(target)
            key = projection.alias or ast.FieldPath(target.segments[-len(names) :]).dotted
            result[key] = project(doc, names)
    projected_metadata: dict[str, Any] = {"@id": metadata.get("@id"), "@projection": True}
    if "@collection" in metadata:
        projected_metadata["@collection"] = metadata["@collection"]
    if score is not None:
        projected_metadata["@index-score"] = score
    result["@metadata"] = projected_metadata
    return doc, result


def distinct_rows(rows: Iterable[Row]) -> list[Row]:
    """The rows whose projected values were not seen before, in order."""
    seen: set[str] = set()
    unique = []
    for doc, result in rows:
        values = {k: v for k, v in result.items() if k != "@metadata"}
        fingerprint = json.dumps(values, sort_keys=True, default=str)
        if fingerprint not in seen:
            seen.add(fingerprint)
            unique.append((doc, result))
    return unique


def referenced_keys(documents: Sequence[Document], paths: Sequence[ast.FieldPath], bindings: Bindings) -> list[str]:
    """The non-empty strings at ``paths`` in ``documents``, once each, in order: ids or compare-exchange keys."""
    getters = [bindings.getter(path) for path in paths]
    wanted: dict[str, None] = {}
    for doc in documents:
        for get in getters:
            for value in get(doc):
                if isinstance(value, str) and value:
                    wanted.setdefault(value)
    return list(wanted)


def gather_includes(documents: Sequence[Document], paths: Sequence[ast.FieldPath], bindings: Bindings,
                    source: DocumentGetter) -> dict[str, dict[str, Any]]:
    """The documents the ``include`` paths of ``documents`` name, by id."""
    includes: dict[str, dict[str, Any]] = {}
    for wanted_id in referenced_keys(documents, paths, bindings):
        included = source.get_document(wanted_id)
        if included is not None:
            includes[(included.get("@metadata") or {}).get("@id") or wanted_id] = included
    return includes
