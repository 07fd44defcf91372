"""The map representation the index engine runs, whatever language the index was written in.

The LINQ and JavaScript front ends compile a definition's maps and reduce into ``IndexMap`` and
``IndexReduce``. A map turns documents of one collection into index outputs (plain objects, one per
index entry: a map that fans out returns several); a reduce groups outputs by a key and aggregates each
group. Both work in batches, because the JavaScript engine runs in another process.

While mapping, a map reads the rest of the database through a ``MapScope`` (``LoadDocument``/``load``,
``LoadVector``); what it read is remembered so that the document is mapped again when it changes.
Values with a meaning of their own travel inside the outputs: ``CreatedField`` (a field whose name the
map computes), ``VectorInput`` (a value for a vector field) and ``MISSING`` (a field that read a property
the document does not have, which RavenDB leaves out of the entry where an explicit null is indexed).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "EMBEDDINGS_COLLECTION_PREFIX",
    "MISSING",
    "CreatedField",
    "IndexMap",
    "IndexReduce",
    "MapFailure",
    "MapScope",
    "VectorInput",
    "embeddings_collection",
    "settle_missing",
]

EMBEDDINGS_COLLECTION_PREFIX = "@embeddings/"
"""Where embeddings generation tasks keep a collection's embeddings (``LoadVector`` reads them)."""


class _Missing:
    """The value of an output field that read a property its document does not have (RavenDB's
    ``DynamicNullObject`` that is not an explicit null)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()


def settle_missing(outputs: list[dict[str, Any]], as_null: bool) -> list[dict[str, Any]]:
    """The outputs with their ``MISSING`` fields left out, or null where the index asks for that
    (``Indexing.IndexMissingFieldsAsNull``, and for a reduce, which reads them as null)."""
    for output in outputs:
        missing = [name for name, value in output.items() if value is MISSING]
        for name in missing:
            if as_null:
                output[name] = None
            else:
                del output[name]
    return outputs


def embeddings_collection(collection: str | None) -> str:
    """``@embeddings/Products`` for ``Products``."""
    return EMBEDDINGS_COLLECTION_PREFIX + (collection or "")


class MapScope(Protocol):
    """What a map may read besides its document."""

    def start(self, position: int) -> None:
        """The map starts on the document at ``position`` of its batch: the loads that follow are its."""
        ...

    def load(self, doc_id: str, collection: str | None) -> dict[str, Any] | None:
        """A related document (``LoadDocument(id, "Coll")`` / ``load(id, 'Coll')``), or None; the
        document being mapped is indexed again when it changes."""
        ...


@dataclass(frozen=True)
class CreatedField:
    """``CreateField(name, value, options)`` / ``createField(...)`` / ``{$name, $value, $options}``:
    a field whose name the map computes. ``options`` holds ``Indexing``/``Storage`` as RavenDB spells
    them (``Search``, ``Yes``), None for the index's defaults."""

    name: str
    value: Any
    options: dict[str, Any] | None = None


@dataclass(frozen=True)
class VectorInput:
    """A value for a vector field: ``CreateVector(value)`` (text, numbers or Base64) or
    ``LoadVector(field, task)`` (``task`` set: the embeddings a task made of ``value``'s field)."""

    value: Any
    task: str | None = None
    source_id: str | None = None


class MapFailure(Exception):
    """One document's map or one group's reduce failed; its message is the indexing error recorded."""


class IndexMap(abc.ABC):
    """One compiled map: the documents of ``collection`` (None: every document) → outputs."""

    collection: str | None
    field_names: tuple[str, ...]
    """The output fields known when the map is compiled (others may appear while indexing)."""
    references: frozenset[str] | None = frozenset()
    """Collections of the documents the map loads; None when it may load from any collection."""

    @abc.abstractmethod
    def run(self, documents: Sequence[dict[str, Any]], scope: MapScope) -> list[list[dict[str, Any]] | MapFailure]:
        """Each document's outputs, or the failure that skips it, in order."""

    def close(self) -> None:
        """Release what the map holds (a script engine); it may be used again afterwards."""
        return None


class IndexReduce(abc.ABC):
    """One compiled reduce: outputs grouped by ``keys`` and each group aggregated by ``reduce``.

    A reduce must accept its own outputs (RavenDB's rule): rookdb reduces large groups in parts and
    then reduces the parts' results.
    """

    field_names: tuple[str, ...]
    reapplies: bool | None = None
    """Whether the reduce gives the same results from its own results as from all the outputs; None: not
    known, so rookdb checks it on the first keys it reduces both ways."""

    @abc.abstractmethod
    def keys(self, outputs: Sequence[dict[str, Any]]) -> list[Any | MapFailure]:
        """The group key of each output (JSON values), or why it has none."""

    @abc.abstractmethod
    def reduce(self, groups: Sequence[Sequence[dict[str, Any]]]) -> list[list[dict[str, Any]] | MapFailure]:
        """Each group's results, in order."""

    def close(self) -> None:
        """Release what the reduce holds."""
        return None
