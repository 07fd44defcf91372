"""The index names RavenDB reports for a query: ``collection/Products``, ``Auto/Products/ByName``.

Auto-index names list the queried fields sorted case-insensitively and joined with ``And``;
wrappers show how a field is used (``Search(Name)``, ``Exact(Name)``) and vector fields are named
by their full expression, ``Vector.search(embedding.text(Name|ai.task('id')))``
(ravendb-ai-integration §3.2, "Auto-index naming").
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.query import ast

__all__ = ["index_field", "index_fields", "index_name", "vector_field_name"]


def index_name(query: ast.Query, parameters: Mapping[str, Any]) -> str:
    """The name RavenDB reports in ``IndexName`` for this query."""
    source = query.source
    if source.kind == "index":
        return source.name or ""
    collection = "AllDocs" if source.kind == "all_docs" else source.name or ""
    if not query.order_by and (query.where is None or _only_ids(query.where)):
        return "AllDocs" if source.kind == "all_docs" else f"collection/{collection}"
    names = index_fields(query, parameters)
    if not names:
        return f"Auto/{collection}/ById()"
    return f"Auto/{collection}/By{'And'.join(names)}"


def index_fields(query: ast.Query, parameters: Mapping[str, Any]) -> list[str]:
    """The fields of the query's auto-index, in name order (``PricePerUnit``, ``Vector.search(...)``)."""
    fields: dict[str, None] = {}
    if query.where is not None:
        _collect_fields(query.where, query.source.alias, parameters, fields, wrapper=None)
    for order in query.order_by:
        if isinstance(order.target, ast.FieldPath):
            fields.setdefault(index_field(order.target, query.source.alias))
    return sorted(fields, key=lambda name: (name.lower(), name))


def _only_ids(expr: ast.Expr) -> bool:
    if isinstance(expr, ast.TrueExpr):
        return True
    if isinstance(expr, ast.And | ast.Or):
        return all(_only_ids(item) for item in expr.items)
    if isinstance(expr, ast.Comparison | ast.In | ast.StartsWith | ast.Between):
        return isinstance(expr.field, ast.IdField)
    return False


def index_field(path: ast.FieldPath, alias: str | None) -> str:
    """A field path as auto-index names write it: without the ``from ... as x`` alias, quotes kept."""
    segments = path.segments
    if alias is not None and len(segments) > 1 and segments[0].name == alias:
        segments = segments[1:]
    return ".".join(
        (f"'{s.name}'" if s.quoted else s.name) + ("[]" if s.array else "") for s in segments
    )


def _collect_fields(
    expr: ast.Expr, alias: str | None, parameters: Mapping[str, Any], fields: dict[str, None],
    wrapper: str | None,
) -> None:
    if isinstance(expr, ast.And | ast.Or):
        for item in expr.items:
            _collect_fields(item, alias, parameters, fields, wrapper)
    elif isinstance(expr, ast.Not | ast.Boost):
        _collect_fields(expr.expr, alias, parameters, fields, wrapper)
    elif isinstance(expr, ast.Exact):
        _collect_fields(expr.expr, alias, parameters, fields, "Exact")
    elif isinstance(expr, ast.VectorSearch):
        fields.setdefault("Vector.search(" + vector_field_name(expr.field, alias, parameters) + ")")
    elif isinstance(expr, ast.TrueExpr):
        return
    elif isinstance(expr.field, ast.FieldPath):
        name = index_field(expr.field, alias)
        if isinstance(expr, ast.Search):
            name = f"Search({name})"
        elif wrapper is not None:
            name = f"{wrapper}({name})"
        fields.setdefault(name)


def vector_field_name(field_: ast.VectorField, alias: str | None, parameters: Mapping[str, Any]) -> str:
    """The vector field as auto-index names write it: ``Tags``, ``embedding.text(Name|ai.task('id'))``."""
    path = index_field(field_.path, alias)
    if field_.kind == "field":
        return path
    if field_.task is None:
        return f"embedding.{field_.kind}({path})"
    task = parameters.get(field_.task.name) if isinstance(field_.task, ast.Parameter) else field_.task.value
    return f"embedding.{field_.kind}({path}|ai.task('{task}'))"
