"""Static index definitions: what the clients send (``PutIndexesOperation``), validated and compiled.

The wire shape is the client's ``IndexDefinition`` JSON. Maps are C# LINQ when they start with
``from`` or ``docs`` (comments aside), as RavenDB decides; otherwise JavaScript. Each front end
compiles them into the map representation (``rookdb.indexes.static.mapping``); the engine runs that.

A definition persists as its wire JSON and is compiled again when its index file is reopened.
``same_entries`` tells whether a new definition changes what the index holds (maps, reduce, fields,
configuration); lock mode, priority and state do not.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from rookdb.errors import BadRequestError, IndexCompilationError
from rookdb.indexes.definitions import IndexBatch, IndexDefinition, IndexEntry, StoredField, register_kind
from rookdb.indexes.static.assemblies import normalize_assemblies
from rookdb.indexes.static.fields import ALL_FIELDS, FieldOptions, VectorOptions, parse_fields
from rookdb.indexes.static.mapping import CreatedField, IndexMap, IndexReduce, MapScope, settle_missing
from rookdb.indexes.static.vectors import VectorFields, VectorSources
from rookdb.storage.base import Change

__all__ = [
    "STATIC",
    "StaticIndexDefinition",
    "detect_type",
    "normalize_definition",
]

STATIC = "Static"
"""The ``Kind`` static definitions persist under."""

_COMMENTS = re.compile(r"/\*.*?\*/|//[^\n]*", re.DOTALL)
_VECTOR_CALL = re.compile(r"\b(CreateVector|LoadVector|createVector|loadVector)\s*\(")
_LINQ_START = re.compile(r"^\s*(from|docs)\b", re.IGNORECASE)
_NAME_LIMIT = 256
_FORBIDDEN_NAME_PREFIXES = ("auto/", "replacementof/")
_LOCK_MODES = ("Unlock", "LockedIgnore", "LockedError", "SideBySide")
_PRIORITIES = ("Low", "Normal", "High")
_STATES = ("Normal", "Disabled", "Idle", "Error")
_CONTENT_KEYS = ("Maps", "Reduce", "Fields", "Configuration", "AdditionalSources", "AdditionalAssemblies",
                 "OutputReduceToCollection", "PatternForOutputReduceToCollectionReferences",
                 "PatternReferencesCollectionName")


def detect_type(maps: Sequence[str], reduce: str | None, declared: str | None = None) -> str:
    """RavenDB's ``IndexType`` of a static definition: ``Map``/``MapReduce`` for C#,
    ``JavaScriptMap``/``JavaScriptMapReduce`` for JavaScript."""
    linq = [bool(_LINQ_START.match(_COMMENTS.sub("", text))) for text in maps]
    if any(linq) and not all(linq):
        raise IndexCompilationError("An index cannot mix C# and JavaScript maps", definition_property="Maps")
    reduced = bool(reduce and reduce.strip())
    if all(linq) and not (declared or "").startswith("JavaScript"):
        return "MapReduce" if reduced else "Map"
    return "JavaScriptMapReduce" if reduced else "JavaScriptMap"


def normalize_definition(data: Any) -> dict[str, Any]:
    """The client's ``IndexDefinition`` JSON checked and filled in as ``GET /indexes`` shows it."""
    if not isinstance(data, Mapping):
        raise BadRequestError("Each index definition must be a JSON object")
    name = data.get("Name")
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError("Index definition must have a name")
    name = name.strip()
    if len(name) > _NAME_LIMIT:
        raise BadRequestError(f"The index name is limited to {_NAME_LIMIT} characters, but was: {name}")
    if name.lower().startswith(_FORBIDDEN_NAME_PREFIXES):
        raise BadRequestError(f"Index name must not start with 'Auto/' or 'ReplacementOf/'. Provided index name: "
                              f"'{name}'")
    maps = data.get("Maps")
    if isinstance(maps, str):
        maps = [maps]
    if not isinstance(maps, list | tuple) or not maps or not all(isinstance(item, str) for item in maps):
        raise BadRequestError("Index must have a 'Maps' fields")
    maps = [item for item in maps if item.strip()]
    if not maps:
        raise BadRequestError("Index must have a 'Maps' fields")
    reduce = data.get("Reduce")
    if reduce is not None and not isinstance(reduce, str):
        raise BadRequestError("'Reduce' must be a string")
    if not reduce or not reduce.strip():
        reduce = None
    for unsupported in ("OutputReduceToCollection", "PatternForOutputReduceToCollectionReferences"):
        if data.get(unsupported):
            raise BadRequestError(f"{unsupported} is not supported: reduce results stay in the index")
    source_type = data.get("IndexSourceType") or data.get("SourceType") or "Documents"
    if source_type not in ("Documents", "None"):
        raise BadRequestError(f"Indexes over {source_type} are not supported: only documents are indexed")
    declared = data.get("IndexType") or data.get("Type")
    index_type = detect_type(maps, reduce, declared if isinstance(declared, str) else None)
    configuration = data.get("Configuration") or {}
    sources = data.get("AdditionalSources") or {}
    if not isinstance(configuration, Mapping) or not isinstance(sources, Mapping):
        raise BadRequestError("'Configuration' and 'AdditionalSources' must be objects")
    if sources and not index_type.startswith("JavaScript"):
        raise IndexCompilationError("AdditionalSources (C# code) cannot be compiled: rookdb evaluates LINQ itself, "
                                    "without a C# compiler", definition_property="AdditionalSources")
    assemblies = normalize_assemblies(data.get("AdditionalAssemblies"))
    fields = parse_fields(data.get("Fields"))
    if reduce is not None and (any(_VECTOR_CALL.search(text) for text in maps)
                               or any(options.vector is not None for options in fields.values())):
        raise IndexCompilationError("Vector fields are not supported in Map-Reduce indexes (RavenDB's rule): map "
                                    "the reduce results' collection with a Map index instead",
                                    definition_property="Fields")
    return {
        "Name": name,
        "Maps": sorted(set(maps), key=maps.index),
        "Reduce": reduce,
        "Fields": {field: options.to_json() for field, options in fields.items()},
        "Configuration": {str(key): str(value) for key, value in configuration.items()},
        "AdditionalSources": {str(key): str(value) for key, value in sources.items()},
        "AdditionalAssemblies": assemblies,
        "LockMode": _choice(data.get("LockMode"), _LOCK_MODES, "Unlock"),
        "Priority": _choice(data.get("Priority"), _PRIORITIES, "Normal"),
        "State": _choice(data.get("State"), _STATES, "Normal"),
        "SourceType": "Documents",
        "IndexSourceType": "Documents",
        "Type": index_type,
        "IndexType": index_type,
        "OutputReduceToCollection": None,
        "ReduceOutputIndex": None,
        "PatternForOutputReduceToCollectionReferences": None,
        "PatternReferencesCollectionName": None,
        "DeploymentMode": data.get("DeploymentMode") if data.get("DeploymentMode") in ("Parallel", "Rolling")
        else None,
    }


def _differences(first: Mapping[str, Any], second: Mapping[str, Any], keys: Sequence[str]) -> list[str]:
    """The keys whose values differ (maps compare as a set, as RavenDB's ``Maps`` is a set)."""
    differing = []
    for key in keys:
        left, right = first.get(key), second.get(key)
        if key == "Maps":
            left, right = set(left or ()), set(right or ())
        if left != right:
            differing.append(key)
    return differing


def _choice(value: Any, allowed: tuple[str, ...], default: str) -> str:
    if value is None:
        return default
    for candidate in allowed:
        if str(value).lower() == candidate.lower():
            return candidate
    raise BadRequestError(f"'{value}' is not one of {', '.join(allowed)}")


class StaticIndexDefinition(IndexDefinition):
    """A compiled static index: its maps (one per collection), its reduce, its fields' options."""

    kind: ClassVar[str] = STATIC

    def __init__(self, wire: Mapping[str, Any], maps: Sequence[IndexMap], reduce: IndexReduce | None) -> None:
        """Use :meth:`compile`."""
        self.wire = dict(wire)
        self.maps = tuple(maps)
        self.reduce = reduce
        self.fields = parse_fields(self.wire["Fields"])
        self._by_collection: dict[str | None, list[IndexMap]] = {}
        for compiled in self.maps:
            key = None if compiled.collection is None else compiled.collection.lower()
            self._by_collection.setdefault(key, []).append(compiled)
        self.created: dict[str, Mapping[str, Any] | None] = {}
        """Options of the fields maps created while indexing (``CreateField``), by name."""
        self.vectors = VectorFields(self._vector_options)
        """The vector fields (``CreateVector``/``LoadVector``)."""
        self.vector_sources: VectorSources | None = None
        """The embedded model and the tasks' embeddings, handed in by the registry."""
        self.has_vectors = (any(_VECTOR_CALL.search(text) for text in self.wire["Maps"])
                            or any(options.vector is not None for options in self.fields.values()))

    @classmethod
    def compile(cls, data: Any) -> StaticIndexDefinition:
        """Check and compile a client's definition; ``IndexCompilationError`` names what does not compile."""
        from rookdb.indexes.static.compilation import compile_maps  # the front ends depend on this module

        wire = normalize_definition(data)
        try:
            maps, reduce = compile_maps(wire)
        except IndexCompilationError as error:
            raise IndexCompilationError(f"Failed to compile index {wire['Name']}: {error.message}",
                                        definition_property=error.definition_property,
                                        problematic_text=error.problematic_text) from error
        return cls(wire, maps, reduce)

    # ---- identity

    @property
    def name(self) -> str:
        return str(self.wire["Name"])

    @property
    def type_name(self) -> str:
        return str(self.wire["Type"])

    @property
    def is_map_reduce(self) -> bool:
        return self.reduce is not None

    def _configured(self, key: str) -> bool:
        configuration = self.wire.get("Configuration") or {}
        return str(configuration.get(key, "")).lower() == "true"

    @property
    def missing_fields_as_null(self) -> bool:
        """``Indexing.IndexMissingFieldsAsNull``: a field reading a property the document lacks is
        indexed as null (a reduce always reads it so)."""
        return self.reduce is not None or self._configured("Indexing.IndexMissingFieldsAsNull")

    @property
    def indexes_empty_entries(self) -> bool:
        """``Indexing.IndexEmptyEntries``: an entry without a field is kept (a reduce keeps every output)."""
        return self.reduce is not None or self._configured("Indexing.IndexEmptyEntries")

    @property
    def collection(self) -> str | None:
        names = {compiled.collection for compiled in self.maps}
        return next(iter(names)) if len(names) == 1 else None

    def map_collections(self) -> tuple[str | None, ...]:
        """The collections the maps read (None: every document)."""
        seen: dict[str | None, None] = {}
        for compiled in self.maps:
            seen.setdefault(compiled.collection)
        return tuple(seen)

    def collections(self) -> tuple[str | None, ...]:
        followed: list[str | None] = list(self.map_collections())
        for compiled in self.maps:
            if compiled.references is None:
                return (None,)
            followed.extend(sorted(compiled.references))
        return tuple(followed)

    def maps_for(self, collection: str) -> list[IndexMap]:
        """The maps that read documents of ``collection``."""
        return [*self._by_collection.get(collection.lower(), ()), *self._by_collection.get(None, ())]

    def loads_task(self, identifier: str) -> bool:
        """True when a map ``LoadVector``-s the embeddings of task ``identifier`` (named in a map, or
        found in the vectors indexed so far)."""
        if identifier.lower() in self.vectors.tasks():
            return True
        named = re.compile(r"\b(?:LoadVector|loadVector)\s*\([^;]*?['\"]" + re.escape(identifier) + r"['\"]",
                           re.IGNORECASE)
        return any(named.search(text) for text in self.wire["Maps"])

    def same_entries(self, other: IndexDefinition) -> bool:
        """True when ``other`` holds the same entries (only lock mode, priority or state may differ)."""
        return isinstance(other, StaticIndexDefinition) and not _differences(self.wire, other.wire, _CONTENT_KEYS)

    def differs_from(self, wire: Mapping[str, Any]) -> bool:
        """``IndexHasChanged``: the normalized definition ``wire`` differs in content, lock mode or priority."""
        return bool(_differences(self.wire, wire, (*_CONTENT_KEYS, "LockMode", "Priority")))

    # ---- fields

    def options(self, name: str) -> FieldOptions:
        """The options of a field: its own, else ``__all_fields``', else the defaults."""
        found = self.fields.get(name)
        if found is None:
            found = self.fields.get(ALL_FIELDS, FieldOptions())
        return found

    def _vector_options(self, name: str) -> VectorOptions | None:
        own = self.fields.get(name)
        return None if own is None else own.vector

    def declares_vector(self, name: str) -> bool:
        """True when ``name`` is a vector field by its options, or a field of an index that makes vectors."""
        return self._vector_options(name) is not None or (self.has_vectors and name in self.output_names())

    def output_names(self) -> tuple[str, ...]:
        """The fields the index's entries have, as far as compilation shows them."""
        names: dict[str, None] = {}
        if self.reduce is not None:
            names.update(dict.fromkeys(self.reduce.field_names))
        else:
            for compiled in self.maps:
                names.update(dict.fromkeys(compiled.field_names))
        names.update((name, None) for name, options in self.fields.items()
                     if name != ALL_FIELDS and options.vector is None)
        return tuple(names)

    def stored_fields(self) -> tuple[StoredField, ...]:
        return tuple(self.options(name).stored_field(name) for name in self.output_names()
                     if self.options(name).vector is None)

    def field_for(self, name: str) -> StoredField | None:
        created = self.created.get(name)
        if created is not None:
            return _created_options(created).stored_field(name)
        options = self.options(name)
        return None if options.vector is not None else options.stored_field(name)

    def stores(self, name: str) -> bool:
        """True when the field's value is kept for projections (``Storage: Yes``)."""
        created = self.created.get(name)
        if created is not None:
            return _created_options(created).storage
        return self.options(name).storage

    def is_analyzed(self, name: str) -> bool:
        """True when the field is indexed as words (``Indexing: Search``)."""
        created = self.created.get(name)
        options = _created_options(created) if created is not None else self.options(name)
        return options.indexing in ("Search", "Highlighting")

    def is_exact(self, name: str) -> bool:
        """True when the field is compared case-sensitively (``Indexing: Exact``)."""
        created = self.created.get(name)
        if created is not None:
            return _created_options(created).exact
        return self.options(name).exact

    # ---- mapping

    def entries(self, outputs: Sequence[dict[str, Any]]) -> tuple[list[IndexEntry], dict[str, Any]]:
        """Index entries of one document's outputs, and the values it keeps for projections."""
        entries: list[IndexEntry] = []
        stored: dict[str, Any] = {}
        for output in outputs:
            entry: IndexEntry = {}
            for name, value in output.items():
                if isinstance(value, CreatedField) or (isinstance(value, list) and value
                                                       and all(isinstance(v, CreatedField) for v in value)):
                    for created in value if isinstance(value, list) else [value]:
                        self._remember(created)
                        entry.setdefault(created.name, []).append(created.value)
                        if self.stores(created.name):
                            stored.setdefault(created.name, created.value)
                    continue
                entry[name] = [value]
                if self.stores(name):
                    stored.setdefault(name, value)
            entries.append(entry)
        return entries, stored

    def _remember(self, created: CreatedField) -> None:
        if created.name not in self.created or created.options is not None:
            self.created[created.name] = created.options

    def map(self, document: dict[str, Any]) -> list[IndexEntry]:
        collection = str((document.get("@metadata") or {}).get("@collection") or "")
        outputs: list[dict[str, Any]] = []
        for compiled in self.maps_for(collection):
            result = compiled.run([document], _NO_RELATED)[0]
            if isinstance(result, Exception):
                raise result
            outputs.extend(settle_missing(result, self.missing_fields_as_null))
        return self.entries(outputs)[0]

    def schema(self) -> str:
        from rookdb.indexes.static import indexing

        return indexing.schema(self)

    def index_changes(self, changes: Sequence[Change], batch: IndexBatch) -> None:
        from rookdb.indexes.static import indexing

        indexing.index_changes(self, changes, batch)

    def persist(self, db: sqlite3.Connection, *, older_than: float = 0.0) -> None:
        """Save the vector fields' graphs (``VectorFields.save``)."""
        if self.has_vectors:
            self.vectors.save(db, older_than=older_than)

    def close(self) -> None:
        """Release the compiled maps' engines."""
        for compiled in self.maps:
            compiled.close()
        if self.reduce is not None:
            self.reduce.close()

    # ---- persistence

    def to_json(self) -> dict[str, Any]:
        return {"Kind": self.kind, "Definition": self.wire}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StaticIndexDefinition:
        return cls.compile(data["Definition"])

    def __eq__(self, other: object) -> bool:
        return isinstance(other, StaticIndexDefinition) and other.wire == self.wire

    def __hash__(self) -> int:
        return hash(self.name.lower())

    def __repr__(self) -> str:
        return f"StaticIndexDefinition({self.name!r}, {self.type_name})"


def _created_options(options: Mapping[str, Any]) -> FieldOptions:
    return FieldOptions.from_json("_", {key[:1].upper() + key[1:]: _option_value(value)
                                        for key, value in options.items()})


def _option_value(value: Any) -> Any:
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return value


class _NoRelatedDocuments:
    def start(self, position: int) -> None:
        pass

    def load(self, doc_id: str, collection: str | None) -> dict[str, Any] | None:
        return None


_NO_RELATED: MapScope = _NoRelatedDocuments()

register_kind(STATIC, StaticIndexDefinition.from_json)
