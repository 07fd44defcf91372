"""Vector fields: RavenDB's names, types per form, identity and file names."""

from __future__ import annotations

import re

import pytest

from rookdb.errors import InvalidQueryError
from rookdb.indexes.vector.fields import SourceType, VectorFieldSpec
from rookdb.indexes.vector.kinds import VectorKind
from rookdb.query import ast, parse_query
from rookdb.query.index_names import vector_field_spec


def spec_of(rql: str, parameters: dict[str, object] | None = None) -> VectorFieldSpec:
    query = parse_query(rql)
    assert query.where is not None
    clause = next(node for node in query.where.walk() if isinstance(node, ast.VectorSearch))
    return vector_field_spec(clause.field, query.source.name or "", query.source.alias, parameters or {})


@pytest.mark.parametrize(("field", "name", "source", "destination"), [
    ("Tags", "Tags", SourceType.SINGLE, VectorKind.SINGLE),
    ("embedding.text(Name)", "embedding.text(Name)", SourceType.TEXT, VectorKind.SINGLE),
    ("embedding.text_i8(Name)", "embedding.text_i8(Name)", SourceType.TEXT, VectorKind.INT8),
    ("embedding.text_i1(Name)", "embedding.text_i1(Name)", SourceType.TEXT, VectorKind.BINARY),
    ("embedding.f32_i8(Tags)", "embedding.f32_i8(Tags)", SourceType.SINGLE, VectorKind.INT8),
    ("embedding.f32_i1(Tags)", "embedding.f32_i1(Tags)", SourceType.SINGLE, VectorKind.BINARY),
    ("embedding.i8(Tags)", "embedding.i8(Tags)", SourceType.INT8, VectorKind.INT8),
    ("embedding.i1(Tags)", "embedding.i1(Tags)", SourceType.BINARY, VectorKind.BINARY),
    ("embedding.text(Address.Country)", "embedding.text(Address.Country)", SourceType.TEXT, VectorKind.SINGLE),
    ("embedding.text(Name, ai.task('my-task'))", "embedding.text(Name|ai.task('my-task'))", SourceType.TEXT,
     VectorKind.SINGLE),
])
def test_forms(field: str, name: str, source: SourceType, destination: VectorKind) -> None:
    spec = spec_of(f"from Products where vector.search({field}, $p)")
    assert (spec.name, spec.source, spec.destination) == (name, source, destination)
    assert VectorFieldSpec.from_json(spec.to_json()) == spec


def test_alias_is_not_part_of_the_field() -> None:
    spec = spec_of("from Products as p where vector.search(embedding.text(p.Name), $q)")
    assert spec.path == ("Name",) and spec.name == "embedding.text(Name)"


def test_task_from_a_parameter() -> None:
    spec = spec_of("from Products where vector.search(embedding.text(Name, ai.task($t)), $q)", {"t": "x-1"})
    assert spec.task == "x-1" and spec.name == "embedding.text(Name|ai.task('x-1'))"
    with pytest.raises(InvalidQueryError, match=r"\$t' was used in the query but not supplied"):
        spec_of("from Products where vector.search(embedding.text(Name, ai.task($t)), $q)")
    with pytest.raises(InvalidQueryError, match="non-empty string"):
        spec_of("from Products where vector.search(embedding.text(Name, ai.task($t)), $q)", {"t": 5})


def test_identity_ignores_collection_case_and_file_names_are_safe() -> None:
    lower = spec_of("from products where vector.search(embedding.text(Name), $q)")
    upper = spec_of("from Products where vector.search(embedding.text(Name), $q)")
    assert lower.key == upper.key and lower.file_name == upper.file_name
    other = spec_of("from Products where vector.search(embedding.text_i8(Name), $q)")
    assert other.file_name != upper.file_name
    tricky = spec_of("from 'My Products' where vector.search(embedding.text(Name, ai.task('a/b')), $q)")
    assert re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", tricky.file_name)
