"""A static index's field options (``IndexDefinition.Fields``): indexing, storage, analyzer, vector.

The wire shape is the client's ``IndexFieldOptions`` (``Indexing``, ``Storage``, ``Analyzer``,
``TermVector``, ``Spatial``, ``Suggestions``, ``Vector``). How rookdb keeps each field:

* ``Indexing`` ``Default`` (or unset): typed terms, compared case-insensitively; ``Exact``: typed terms
  compared case-sensitively; ``Search`` (and ``Highlighting``): full text, and terms as well so that
  equality still works; ``No``: not searchable (it may still be stored);
* ``Storage`` ``Yes``: the value is kept in the index and projected without loading the document;
* ``Analyzer``: the full-text engine has one analyzer (lower-cased words), so the standard analyzers
  select it, ``KeywordAnalyzer`` makes the field exact and ``LowerCaseKeywordAnalyzer`` a default one;
  any other analyzer is refused rather than approximated;
* ``Spatial`` is refused (no spatial fields); ``TermVector`` and ``Suggestions`` are kept as given.

``__all_fields`` gives the options of every field that has none of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rookdb.errors import IndexCompilationError
from rookdb.indexes.definitions import StoredField

__all__ = ["ALL_FIELDS", "EMBEDDING_TYPES", "FieldOptions", "VectorOptions", "parse_fields"]

ALL_FIELDS = "__all_fields"
EMBEDDING_TYPES = ("Text", "Single", "Int8", "Binary")
_INDEXING = ("Default", "Search", "Exact", "No", "Highlighting")
_STANDARD_ANALYZERS = frozenset({"StandardAnalyzer", "RavenStandardAnalyzer"})
_KEYWORD_ANALYZERS = {"KeywordAnalyzer": "Exact", "LowerCaseKeywordAnalyzer": "Default"}


@dataclass(frozen=True)
class VectorOptions:
    """``Fields[f].Vector``: what a vector field receives and keeps (RavenDB's ``VectorOptions``)."""

    source: str = "Single"
    destination: str = "Single"
    dimensions: int | None = None
    edges: int | None = None
    candidates: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"SourceEmbeddingType": self.source, "DestinationEmbeddingType": self.destination,
                "Dimensions": self.dimensions, "NumberOfEdges": self.edges,
                "NumberOfCandidatesForIndexing": self.candidates}

    @classmethod
    def from_json(cls, name: str, data: Mapping[str, Any]) -> VectorOptions:
        source = _enum(name, "SourceEmbeddingType", data.get("SourceEmbeddingType") or "Single", EMBEDDING_TYPES)
        destination = _enum(name, "DestinationEmbeddingType", data.get("DestinationEmbeddingType") or "Single",
                            EMBEDDING_TYPES[1:])
        if source == "Text" and destination == "Text":
            destination = "Single"
        if source == "Text" and data.get("Dimensions") is not None:
            raise _error(name, "Dimensions are set internally by the embedder: a Text source takes the model's")
        if source in ("Int8", "Binary") and destination != source:
            raise _error(name, f"{source} vectors are indexed as they are: DestinationEmbeddingType must be {source} "
                               "(quantized data cannot be quantized again)")
        return cls(source, destination, _positive(name, "Dimensions", data.get("Dimensions")),
                   _positive(name, "NumberOfEdges", data.get("NumberOfEdges")),
                   _positive(name, "NumberOfCandidatesForIndexing", data.get("NumberOfCandidatesForIndexing")))


@dataclass(frozen=True)
class FieldOptions:
    """One field's options, validated; ``raw`` is what the client sent (echoed by ``GET /indexes``)."""

    indexing: str = "Default"
    storage: bool = False
    analyzer: str | None = None
    vector: VectorOptions | None = None
    raw: tuple[tuple[str, Any], ...] = ()

    @property
    def exact(self) -> bool:
        return self.indexing == "Exact"

    def stored_field(self, name: str) -> StoredField:
        """How the index store keeps the field."""
        if self.indexing == "No":
            return StoredField(name, terms=False, search=False)
        search = self.indexing in ("Search", "Highlighting")
        return StoredField(name, terms=True, search=search)

    def to_json(self) -> dict[str, Any]:
        shown = dict(self.raw)
        return {
            "Storage": shown.get("Storage"),
            "Indexing": shown.get("Indexing"),
            "TermVector": shown.get("TermVector"),
            "Spatial": None,
            "Analyzer": shown.get("Analyzer"),
            "Suggestions": shown.get("Suggestions"),
            "Vector": self.vector.to_json() if self.vector is not None else None,
        }

    @classmethod
    def from_json(cls, name: str, data: Any) -> FieldOptions:
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise _error(name, "field options must be an object")
        if data.get("Spatial") is not None:
            raise _error(name, "spatial fields are not supported")
        indexing = _enum(name, "Indexing", data.get("Indexing") or "Default", _INDEXING)
        storage = _enum(name, "Storage", data.get("Storage") or "No", ("Yes", "No")) == "Yes"
        analyzer = data.get("Analyzer")
        if analyzer is not None:
            if not isinstance(analyzer, str) or not analyzer.strip():
                raise _error(name, "Analyzer must be the name of an analyzer")
            short = analyzer.strip().rsplit(".", 1)[-1]
            if short in _KEYWORD_ANALYZERS:
                indexing = _KEYWORD_ANALYZERS[short]
            elif short not in _STANDARD_ANALYZERS:
                raise _error(name, f"analyzer '{analyzer}' is not available: rookdb's full-text engine analyzes "
                                   "text into lower-cased words (StandardAnalyzer); KeywordAnalyzer and "
                                   "LowerCaseKeywordAnalyzer are available too")
            elif indexing == "Default":
                indexing = "Search"
        vector_data = data.get("Vector")
        vector = None
        if vector_data is not None:
            if not isinstance(vector_data, Mapping):
                raise _error(name, "Vector must be an object")
            vector = VectorOptions.from_json(name, vector_data)
        raw = tuple((key, data.get(key)) for key in ("Storage", "Indexing", "TermVector", "Analyzer", "Suggestions"))
        return cls(indexing, storage, analyzer, vector, raw)


def parse_fields(data: Any) -> dict[str, FieldOptions]:
    """``Fields`` of an index definition, by field name."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise IndexCompilationError("Fields must be an object of field name to options",
                                    definition_property="Fields")
    return {str(name): FieldOptions.from_json(str(name), options) for name, options in data.items()}


def _error(field: str, message: str) -> IndexCompilationError:
    return IndexCompilationError(f"Field '{field}': {message}", definition_property="Fields")


def _enum(field: str, option: str, value: Any, allowed: tuple[str, ...]) -> str:
    text = str(value)
    for candidate in allowed:
        if candidate.lower() == text.lower():
            return candidate
    raise _error(field, f"{option} must be one of {', '.join(allowed)}, not {value!r}")


def _positive(field: str, option: str, value: Any) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise _error(field, f"{option} must be a positive integer, not {value!r}")
    return value
