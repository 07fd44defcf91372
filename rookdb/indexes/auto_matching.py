"""The auto-indexes of a collection as dynamic queries weigh them: which a query may merge into, and
which of those covering it answers (``IndexRegistry`` and ``?debug=explain`` ask the same way)."""

from __future__ import annotations

from collections.abc import Iterable

from rookdb.indexes.auto_map_reduce import AutoMapReduceDefinition
from rookdb.indexes.definitions import AutoMapDefinition
from rookdb.indexes.index import Index

__all__ = ["auto_map", "auto_map_reduce", "auto_maps_of", "best_covering", "coverage_rank"]


def auto_map(index: Index) -> AutoMapDefinition:
    definition = index.definition
    assert isinstance(definition, AutoMapDefinition)
    return definition


def auto_map_reduce(index: Index) -> AutoMapReduceDefinition:
    definition = index.definition
    assert isinstance(definition, AutoMapReduceDefinition)
    return definition


def auto_maps_of(indexes: Iterable[Index], collection: str | None, *, with_vectors: bool = False) -> list[Index]:
    """The auto map indexes of ``collection`` (None: every document); those listing vector fields only
    ``with_vectors`` (a query merges into none of them)."""
    wanted = None if collection is None else collection.lower()
    family = []
    for index in indexes:
        definition = index.definition
        if not isinstance(definition, AutoMapDefinition) or (definition.extra_names and not with_vectors):
            continue
        own = None if definition.collection is None else definition.collection.lower()
        if own == wanted:
            family.append(index)
    return family


def coverage_rank(index: Index) -> tuple[int, int]:
    """How an auto-index covering a query ranks: the most up to date, then the widest."""
    return index.checkpoint, len(auto_map(index).fields)


def best_covering(complete: list[Index]) -> Index:
    """Of the auto-indexes covering a query, the most up to date, then the widest."""
    if len(complete) == 1:
        return complete[0]
    return max(complete, key=coverage_rank)
