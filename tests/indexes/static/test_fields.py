"""Field options: how each is kept, what is refused, what GET /indexes shows."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import IndexCompilationError
from rookdb.indexes.definitions import StoredField
from rookdb.indexes.static.fields import FieldOptions, VectorOptions, parse_fields


@pytest.mark.parametrize(("options", "stored_field", "exact", "storage"), [
    (None, StoredField("F", True, False), False, False),
    ({"Indexing": "Search", "Storage": "Yes"}, StoredField("F", True, True), False, True),
    ({"Indexing": "Exact"}, StoredField("F", True, False), True, False),
    ({"Indexing": "No", "Storage": "Yes"}, StoredField("F", False, False), False, True),
    ({"Analyzer": "Lucene.Net.Analysis.Standard.StandardAnalyzer"}, StoredField("F", True, True), False, False),
    ({"Analyzer": "KeywordAnalyzer", "Indexing": "Search"}, StoredField("F", True, False), True, False),
    ({"Analyzer": "LowerCaseKeywordAnalyzer"}, StoredField("F", True, False), False, False),
])
def test_how_a_field_is_kept(options: dict[str, Any] | None, stored_field: StoredField, exact: bool,
                             storage: bool) -> None:
    parsed = FieldOptions.from_json("F", options)
    assert parsed.stored_field("F") == stored_field and parsed.exact == exact and parsed.storage == storage


@pytest.mark.parametrize(("options", "message"), [
    ({"Analyzer": "WhitespaceAnalyzer"}, "analyzer 'WhitespaceAnalyzer' is not available"),
    ({"Spatial": {"Type": "Geography"}}, "spatial fields are not supported"),
    ({"Indexing": "Sometimes"}, "Indexing must be one of"),
    ({"Vector": {"Dimensions": 0}}, "Dimensions must be a positive integer"),
    ({"Vector": {"SourceEmbeddingType": "Int8", "DestinationEmbeddingType": "Single"}}, "must be Int8"),
    ({"Vector": {"SourceEmbeddingType": "Words"}}, "SourceEmbeddingType must be one of"),
    ({"Vector": {"SourceEmbeddingType": "Text", "Dimensions": 384}}, "Dimensions are set internally by the embedder"),
])
def test_refused_options_name_the_field(options: dict[str, Any], message: str) -> None:
    with pytest.raises(IndexCompilationError, match=f"Field 'F': .*{message}"):
        parse_fields({"F": options})


def test_vector_options_and_the_listing() -> None:
    fields = parse_fields({"V": {"Vector": {"SourceEmbeddingType": "Text", "NumberOfEdges": 20}},
                           "N": {"Indexing": "Search", "Storage": "Yes", "Suggestions": True}})
    assert fields["V"].vector == VectorOptions("Text", "Single", None, 20, None)
    assert fields["V"].to_json()["Vector"] == {"SourceEmbeddingType": "Text", "DestinationEmbeddingType": "Single",
                                               "Dimensions": None, "NumberOfEdges": 20,
                                               "NumberOfCandidatesForIndexing": None}
    assert fields["N"].to_json() == {"Storage": "Yes", "Indexing": "Search", "TermVector": None, "Spatial": None,
                                     "Analyzer": None, "Suggestions": True, "Vector": None}
