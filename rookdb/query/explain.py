"""``/queries?debug=explain``: which auto-index a dynamic query would use, and why each other one of
its collection would not (RavenDB's index selection explanations). Nothing is run or created."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rookdb.errors import BadRequestError
from rookdb.indexes.auto_matching import auto_map, auto_maps_of, coverage_rank
from rookdb.indexes.definitions import AutoIndexField, FieldIndexing
from rookdb.indexes.index import Index
from rookdb.indexes.registry import IndexRegistry
from rookdb.query.facets import with_setups
from rookdb.query.index_names import auto_index_fields
from rookdb.query.parser import parse_query
from rookdb.query.vector_clauses import DocumentSource

__all__ = ["Explanation", "explain_index_selection"]

_NOT_CHOSEN = "Wasn't the widest / most up to date index matching this query"


@dataclass(frozen=True, slots=True)
class Explanation:
    index: str
    reason: str

    def to_json(self) -> dict[str, str]:
        return {"Index": self.index, "Reason": self.reason}


def explain_index_selection(query: str, parameters: Mapping[str, Any], source: DocumentSource,
                            indexes: IndexRegistry) -> tuple[str | None, list[Explanation]]:
    """The auto-index the query would be answered from (None when it would create one), and an
    explanation for each other auto-index of its collection. A group-by query weighs the grouping
    indexes by name only: it is answered by the one grouping by its fields."""
    parsed = parse_query(query)
    if parsed.source.kind == "index":
        raise BadRequestError("Explain can only work on dynamic indexes")
    collection = parsed.source.name if parsed.source.kind == "collection" else None
    expanded, expanded_parameters = with_setups(parsed, parameters, source)
    fields, vectors = auto_index_fields(expanded, expanded_parameters)
    explanations: list[Explanation] = []
    complete: list[Index] = []
    partial: list[Index] = []
    family = auto_maps_of(indexes.indexes(), collection, with_vectors=True)
    for index in sorted((each for each in family if not each.retired), key=lambda each: each.name.lower()):
        verdict = _consider(index, fields, vectors, explanations)
        if verdict is True:
            complete.append(index)
        elif verdict is False:
            partial.append(index)
    if complete:
        ranked = sorted(complete, key=coverage_rank, reverse=True)
        explanations.extend(Explanation(index.name, _NOT_CHOSEN) for index in ranked[1:])
        return ranked[0].name, explanations
    if partial:
        return max(partial, key=lambda index: len(auto_map(index).fields)).name, explanations
    return None, explanations


def _consider(index: Index, fields: list[AutoIndexField], vectors: list[str],
              explanations: list[Explanation]) -> bool | None:
    """True for a complete match, False for a partial one, None when the index cannot answer at all."""
    definition = auto_map(index)
    name = index.name
    if index.store.state in ("Disabled", "Error"):
        explanations.append(Explanation(name, "Cannot do dynamic queries on disabled index or index with errors "
                                              f"(index name = {name})"))
        return None
    mine = {field.name: field for field in definition.fields}
    complete = True
    for field in fields:
        held = mine.get(field.name)
        if held is None:
            explanations.append(Explanation(name, f"The following field is missing: {field.name}"))
            complete = False
            continue
        for use, word, action in ((FieldIndexing.SEARCH, "searchable", "search()"),
                                  (FieldIndexing.EXACT, "exactable", "perform exact()")):
            if use in field.indexing and use not in held.indexing:
                explanations.append(Explanation(name, f"The following field is not {word} {field.name}, "
                                                      f"while the query needs to {action} on it"))
                return False
    for vector in vectors:
        if vector not in definition.extra_names:
            explanations.append(Explanation(name, f"The following field is missing: {vector}"))
            complete = False
    return complete
