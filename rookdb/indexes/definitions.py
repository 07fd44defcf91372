"""Index definitions: what an index holds for a document (its map) and what it is called.

Every kind of index is a definition that maps a document to index entries, ``{field: values}``,
where ``values`` are what the field reached in the document (arrays not yet fanned out; the store
fans them out). A field is stored as typed terms (equality, ranges, ordering), as full text, or both,
as its ``StoredField`` says. Auto-indexes (``AutoMapDefinition``) are one kind; static definitions
(``rookdb.indexes.static``) are others: each kind registers a loader with ``register_kind`` so an
index file can be reopened knowing only its JSON.

A batch of changes reaches a definition through ``index_changes``: the default maps each changed
document with ``map``; a kind that loads related documents or reduces overrides it and keeps what it
needs in tables of its own (``schema``) in the same file, written in the batch's transaction.
"""

from __future__ import annotations

import abc
import sqlite3
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar, Protocol, TypeAlias

import orjson

from rookdb.indexes.values import values_at
from rookdb.storage.base import Change, DocumentStorage

__all__ = [
    "AUTO_MAP",
    "AutoIndexField",
    "AutoMapDefinition",
    "FieldIndexing",
    "IndexBatch",
    "IndexDefinition",
    "IndexEntry",
    "StoredField",
    "auto_index_name",
    "definition_from_json",
    "latest_changes",
    "register_kind",
]

IndexEntry: TypeAlias = dict[str, list[Any]]
"""One index entry: field name → the values the field reached (a missing field is left out)."""

AUTO_MAP = "AutoMap"


class FieldIndexing(StrEnum):
    """How a query uses a field; an auto-index field collects every use (RavenDB's ``AutoFieldIndexing``)."""

    DEFAULT = "Default"  # typed terms: equality, ranges, prefixes, ordering
    SEARCH = "Search"  # full text
    EXACT = "Exact"  # typed terms compared case-sensitively (served by the same terms as DEFAULT)


@dataclass(frozen=True)
class StoredField:
    """A field as the index store keeps it: typed ``terms``, ``search`` (full text), or both."""

    name: str
    terms: bool
    search: bool


class IndexBatch(Protocol):
    """One batch of changes being applied to an index file, inside its write transaction."""

    db: sqlite3.Connection
    """The index file's connection, in the batch's transaction (for a kind's own tables)."""
    storage: DocumentStorage | None
    """The database, for kinds that read more than the changed documents (None in unit tests)."""

    def remove(self, doc_id: str) -> None:
        """Drop the entries of ``doc_id`` (before adding its new ones)."""
        ...

    def add(self, number: int, doc_id: str, entries: list[IndexEntry],
            stored: Mapping[str, Any] | None = None) -> None:
        """Add an entry under ``number`` (its order among the index's entries), with the values kept for
        projections."""
        ...

    def mapped(self, count: int = 1) -> None:
        """Count documents mapped successfully."""
        ...

    def reduced(self, count: int = 1) -> None:
        """Count reduce keys reduced successfully."""
        ...

    def fail(self, doc_id: str, message: str, action: str = "Map") -> None:
        """Record an indexing error (the document is left out)."""
        ...


def latest_changes(changes: Sequence[Change]) -> dict[str, Change]:
    """Each document's last change, by lower-cased id, in the order of those last changes."""
    latest: dict[str, Change] = {}
    for change in changes:
        lower = change.id.lower()
        latest.pop(lower, None)
        latest[lower] = change
    return latest


class IndexDefinition(abc.ABC):
    """What an index maps, from which documents, under which name."""

    kind: ClassVar[str]

    @property
    @abc.abstractmethod
    def name(self) -> str:
        """The index name (``Auto/Products/ByName``)."""

    @property
    @abc.abstractmethod
    def collection(self) -> str | None:
        """The collection it maps, or None for every document."""

    @abc.abstractmethod
    def stored_fields(self) -> tuple[StoredField, ...]:
        """The fields the store keeps, in a stable order."""

    @property
    def type_name(self) -> str:
        """RavenDB's index type (``AutoMap``, ``Map``, ``MapReduce``, ``JavaScriptMap``...)."""
        return self.kind

    def collections(self) -> tuple[str | None, ...]:
        """Every collection whose changes the index follows (None: every document)."""
        return (self.collection,)

    def field_for(self, name: str) -> StoredField | None:
        """How to keep a field first seen while indexing (None: not indexed)."""
        return None

    def schema(self) -> str:
        """SQL creating the tables this kind keeps in the index file besides the entries."""
        return ""

    def persist(self, db: sqlite3.Connection, *, older_than: float = 0.0) -> None:
        """Save what this definition keeps in memory for its index file (``db``: the file's writer,
        between batches) in the file's companion folder, if it last did so at least ``older_than``
        seconds ago; nothing by default."""
        return None

    def same_entries(self, other: IndexDefinition) -> bool:
        """True when ``other`` gives every document the same entries (a redefinition need not rebuild)."""
        return self == other

    @abc.abstractmethod
    def map(self, document: dict[str, Any]) -> list[IndexEntry]:
        """The entries of one document; raising records an indexing error for it."""

    def index_changes(self, changes: Sequence[Change], batch: IndexBatch) -> None:
        """Apply a batch of changes (oldest first): each changed document's entries replace its old ones."""
        for change in latest_changes(changes).values():
            batch.remove(change.id)
            if change.document is None:
                continue
            try:
                entries = self.map(orjson.loads(change.document.body))
            except Exception as error:  # a map is user code for static indexes: any failure is the document's
                batch.fail(change.id, f"{type(error).__name__}: {error}")
                continue
            batch.add(change.etag, change.id, entries)
            batch.mapped()

    @abc.abstractmethod
    def to_json(self) -> dict[str, Any]:
        """The persisted form, with ``Kind`` set to ``kind`` (read back by ``definition_from_json``)."""

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and isinstance(other, IndexDefinition) and other.to_json() == self.to_json()

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


_LOADERS: dict[str, Callable[[Mapping[str, Any]], IndexDefinition]] = {}


def register_kind(kind: str, loader: Callable[[Mapping[str, Any]], IndexDefinition]) -> None:
    """Make ``definition_from_json`` read definitions whose ``Kind`` is ``kind``."""
    _LOADERS[kind] = loader


def definition_from_json(data: Mapping[str, Any]) -> IndexDefinition:
    """A definition from its persisted JSON; ``ValueError`` for an unknown kind or a bad shape."""
    loader = _LOADERS.get(str(data.get("Kind")))
    if loader is None:
        raise ValueError(f"unknown index definition kind {data.get('Kind')!r}")
    try:
        return loader(data)
    except (KeyError, TypeError) as error:
        raise ValueError(f"malformed {data.get('Kind')} definition: {error}") from error


def auto_index_name(collection: str | None, field_names: Iterable[str]) -> str:
    """RavenDB's auto-index name: the field names sorted (case-insensitively) and joined with ``And``.

    ``collection`` None is ``AllDocs``; an index without fields is named ``ById()``.
    """
    names = sorted(set(field_names), key=lambda name: (name.lower(), name))
    return f"Auto/{collection or 'AllDocs'}/By{'And'.join(names) or 'Id()'}"


@dataclass(frozen=True)
class AutoIndexField:
    """A document path a dynamic query uses, and how (``Name``, ``Search(Name)``, ``Exact(Name)``).

    ``name`` is the path as auto-index names spell it (``Lines[].ProductName``, quotes kept),
    ``path`` the property names it walks.
    """

    name: str
    path: tuple[str, ...]
    indexing: frozenset[FieldIndexing] = frozenset({FieldIndexing.DEFAULT})

    def names(self) -> list[str]:
        """The names this field contributes to the index name, one per use."""
        wrapped = {FieldIndexing.SEARCH: "Search", FieldIndexing.EXACT: "Exact"}
        return [self.name if use is FieldIndexing.DEFAULT else f"{wrapped[use]}({self.name})"
                for use in FieldIndexing if use in self.indexing]

    def covers(self, other: AutoIndexField) -> bool:
        return self.name == other.name and other.indexing <= self.indexing

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Path": list(self.path), "Indexing": sorted(self.indexing)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AutoIndexField:
        return cls(str(data["Name"]), tuple(str(part) for part in data["Path"]),
                   frozenset(FieldIndexing(use) for use in data["Indexing"]))


class AutoMapDefinition(IndexDefinition):
    """An auto-index over one collection (or every document): the fields dynamic queries used."""

    kind = AUTO_MAP

    def __init__(self, collection: str | None, fields: Iterable[AutoIndexField],
                 extra_names: Iterable[str] = ()) -> None:
        """``extra_names`` are names of fields other stores keep (vector fields), listed in the name."""
        merged: dict[str, AutoIndexField] = {}
        for field in fields:
            known = merged.get(field.name)
            merged[field.name] = field if known is None else AutoIndexField(
                field.name, known.path, known.indexing | field.indexing)
        self._collection = collection
        self.fields = tuple(sorted(merged.values(), key=lambda field: field.name))
        self.extra_names = tuple(sorted(set(extra_names)))
        self._name = auto_index_name(collection, [*self.field_names(), *self.extra_names])

    @property
    def name(self) -> str:
        return self._name

    @property
    def collection(self) -> str | None:
        return self._collection

    def field_names(self) -> list[str]:
        """Every name the fields contribute (``Name``, ``Search(Name)``), unsorted."""
        return [name for field in self.fields for name in field.names()]

    def stored_fields(self) -> tuple[StoredField, ...]:
        terms = {FieldIndexing.DEFAULT, FieldIndexing.EXACT}
        return tuple(StoredField(field.name, bool(field.indexing & terms), FieldIndexing.SEARCH in field.indexing)
                     for field in self.fields)

    def map(self, document: dict[str, Any]) -> list[IndexEntry]:
        entry: IndexEntry = {}
        for field in self.fields:
            path = field.path
            if len(path) == 1:  # the common case, without walking
                if path[0] in document:
                    entry[field.name] = [document[path[0]]]
                continue
            reached = values_at(document, path, flatten=False)
            if reached:
                entry[field.name] = reached
        return [entry]

    def covers(self, required: Iterable[AutoIndexField]) -> bool:
        """True when every required field and use is indexed here."""
        mine = {field.name: field for field in self.fields}
        return all(field.name in mine and mine[field.name].covers(field) for field in required)

    def extended(self, fields: Iterable[AutoIndexField]) -> AutoMapDefinition:
        """This definition with ``fields`` added (RavenDB's merged auto-index)."""
        return AutoMapDefinition(self._collection, [*self.fields, *fields], self.extra_names)

    def to_json(self) -> dict[str, Any]:
        return {"Kind": self.kind, "Name": self._name, "Collection": self._collection,
                "Fields": [field.to_json() for field in self.fields], "ExtraNames": list(self.extra_names)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AutoMapDefinition:
        collection = data["Collection"]
        return cls(None if collection is None else str(collection),
                   [AutoIndexField.from_json(field) for field in data["Fields"]],
                   [str(name) for name in data.get("ExtraNames", ())])


register_kind(AUTO_MAP, AutoMapDefinition.from_json)
