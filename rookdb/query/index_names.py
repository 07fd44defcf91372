"""The indexes RavenDB reports for a query: ``collection/Products``, ``Auto/Products/ByName``.

A query that only filters on ``id()`` and has no ``order by`` reads the collection itself
(``collection/Products``, or ``AllDocs``). Any other is answered by an auto-index over the fields it
uses: each field once per use (``Name``, ``Search(Name)``, ``Exact(Name)``), and vector fields by
their full expression, ``Vector.search(embedding.text(Name|ai.task('id')))``, as RavenDB names
vector auto-indexes; names are sorted and joined with ``And``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import InvalidQueryError
from rookdb.indexes.definitions import AutoIndexField, FieldIndexing, auto_index_name
from rookdb.indexes.vector.fields import VectorFieldSpec
from rookdb.query import ast
from rookdb.query.lucene import lucene_clause

__all__ = ["auto_index_fields", "fields_follow_parameters", "index_field", "index_fields", "index_name",
           "reads_collection", "vector_field_name", "vector_field_spec", "vector_field_specs"]


def index_name(query: ast.Query, parameters: Mapping[str, Any]) -> str:
    """The name RavenDB reports in ``IndexName`` for this query."""
    source = query.source
    if source.kind == "index":
        return source.name or ""
    if reads_collection(query):
        return "AllDocs" if source.kind == "all_docs" else f"collection/{source.name or ''}"
    return auto_index_name(source.name if source.kind == "collection" else None, index_fields(query, parameters))


def reads_collection(query: ast.Query) -> bool:
    """True when the query is answered by reading its collection in order (no auto-index)."""
    return not query.order_by and not query.facets and (query.where is None or _only_ids(query.where))


def index_fields(query: ast.Query, parameters: Mapping[str, Any]) -> list[str]:
    """The fields of the query's auto-index, in name order (``PricePerUnit``, ``Vector.search(...)``)."""
    fields, vectors = auto_index_fields(query, parameters)
    names = [name for field in fields for name in field.names()] + vectors
    return sorted(set(names), key=lambda name: (name.lower(), name))


def auto_index_fields(query: ast.Query, parameters: Mapping[str, Any]) -> tuple[list[AutoIndexField], list[str]]:
    """The document fields the query's auto-index needs (with their uses), and its vector field names."""
    # Parsed queries are shared (the parser caches them by text): those whose fields do not depend on
    # their parameters keep them, as the same texts come again and again.
    known = _fields_known.get(id(query))
    if known is not None and known[0] is query:
        return list(known[1]), list(known[2])
    fields, vectors = _auto_index_fields(query, parameters)
    if not fields_follow_parameters(query):
        if len(_fields_known) >= _FIELDS_KNOWN_SIZE:
            _fields_known.clear()
        _fields_known[id(query)] = (query, tuple(fields), tuple(vectors))
    return fields, vectors


_FIELDS_KNOWN_SIZE = 1024
_fields_known: dict[int, tuple[ast.Query, tuple[AutoIndexField, ...], tuple[str, ...]]] = {}
"""Parsed queries (by identity, kept alive here so that it stays theirs) and their parameter-free fields."""


def fields_follow_parameters(query: ast.Query) -> bool:
    """True when a parameter's value names some of the query's fields: ``lucene(Field, $q)`` (the
    clause is parsed from the value), ``embedding.text(Field, ai.task($task))`` (the task's name)."""
    if query.where is None:
        return False
    return any(isinstance(node, ast.Lucene) or (isinstance(node, ast.VectorSearch)
                                                and isinstance(node.field.task, ast.Parameter))
               for node in query.where.walk())


def _auto_index_fields(query: ast.Query, parameters: Mapping[str, Any]) -> tuple[list[AutoIndexField], list[str]]:
    fields: list[AutoIndexField] = []
    vectors: dict[str, None] = {}
    if query.where is not None:
        _collect_fields(query.where, query.source.alias, parameters, fields, vectors, exact=False)
    for order in query.order_by:
        if isinstance(order.target, ast.FieldPath):
            fields.append(_field(order.target, query.source.alias, FieldIndexing.DEFAULT))
    for facet in query.facets:  # the facet's field (or its ranges' field) and the aggregated fields
        paths = [node for node in facet.walk() if isinstance(node, ast.FieldPath)]
        fields.extend(_field(path, query.source.alias, FieldIndexing.DEFAULT) for path in paths)
    return fields, list(vectors)


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


def _field(path: ast.FieldPath, alias: str | None, use: FieldIndexing) -> AutoIndexField:
    names = tuple(segment.name for segment in path.segments)
    if alias is not None and len(names) > 1 and names[0] == alias:
        names = names[1:]
    return AutoIndexField(index_field(path, alias), names, frozenset({use}))


def _collect_fields(
    expr: ast.Expr, alias: str | None, parameters: Mapping[str, Any], fields: list[AutoIndexField],
    vectors: dict[str, None], exact: bool,
) -> None:
    if isinstance(expr, ast.And | ast.Or):
        for item in expr.items:
            _collect_fields(item, alias, parameters, fields, vectors, exact)
    elif isinstance(expr, ast.Not | ast.Boost):
        _collect_fields(expr.expr, alias, parameters, fields, vectors, exact)
    elif isinstance(expr, ast.Exact):
        _collect_fields(expr.expr, alias, parameters, fields, vectors, True)
    elif isinstance(expr, ast.VectorSearch):
        vectors.setdefault("Vector.search(" + vector_field_name(expr.field, alias, parameters) + ")")
    elif isinstance(expr, ast.TrueExpr):
        return
    elif isinstance(expr, ast.Lucene):
        value = expr.value
        text = parameters.get(value.name) if isinstance(value, ast.Parameter) else (
            value.value if isinstance(value, ast.Literal) else None)
        _collect_fields(lucene_clause(expr, text, expr.to_rql()), alias, parameters, fields, vectors, exact)
    elif isinstance(expr.field, ast.FieldPath):
        if isinstance(expr, ast.Search):
            use = FieldIndexing.SEARCH
        else:
            use = FieldIndexing.EXACT if exact else FieldIndexing.DEFAULT
        fields.append(_field(expr.field, alias, use))


def vector_field_name(field_: ast.VectorField, alias: str | None, parameters: Mapping[str, Any]) -> str:
    """The vector field as auto-index names write it: ``Tags``, ``embedding.text(Name|ai.task('id'))``."""
    path = index_field(field_.path, alias)
    if field_.kind == "field":
        return path
    if field_.task is None:
        return f"embedding.{field_.kind}({path})"
    task = parameters.get(field_.task.name) if isinstance(field_.task, ast.Parameter) else field_.task.value
    return f"embedding.{field_.kind}({path}|ai.task('{task}'))"


def vector_field_specs(query: ast.Query, parameters: Mapping[str, Any]) -> list[VectorFieldSpec]:
    """The vector fields the query searches (each once), as its auto-index holds them."""
    if query.where is None:
        return []
    clauses = [node for node in query.where.walk() if isinstance(node, ast.VectorSearch)]
    source = query.source
    if clauses and (source.kind != "collection" or not source.name):
        raise InvalidQueryError(
            "vector.search needs a collection query such as 'from Products'; querying "
            f"{'@all_docs' if source.kind == 'all_docs' else 'a static index'} with it is not supported",
            query=query.to_rql())
    specs: dict[str, VectorFieldSpec] = {}
    for clause in clauses:
        spec = vector_field_spec(clause.field, source.name or "", source.alias, parameters)
        specs.setdefault(spec.key, spec)
    return list(specs.values())


def vector_field_spec(field_: ast.VectorField, collection: str, alias: str | None,
                      parameters: Mapping[str, Any]) -> VectorFieldSpec:
    """The field a ``vector.search`` clause searches in ``collection``."""
    names = tuple(segment.name for segment in field_.path.segments)
    if alias is not None and len(names) > 1 and names[0] == alias:
        names = names[1:]
    task: str | None = None
    if field_.task is not None:
        if isinstance(field_.task, ast.Parameter) and field_.task.name not in parameters:
            raise InvalidQueryError(
                f"Query parameter '${field_.task.name}' was used in the query but not supplied in QueryParameters",
                position=field_.task.position)
        value = parameters.get(field_.task.name) if isinstance(field_.task, ast.Parameter) else field_.task.value
        if not isinstance(value, str) or not value:
            raise InvalidQueryError(
                f"ai.task(...) in {field_.to_rql()} needs the identifier of an embeddings generation task "
                f"(a non-empty string), got {value!r}")
        task = value
    return VectorFieldSpec(collection, field_.kind, names, vector_field_name(field_, alias, parameters), task)
