"""What the official clients read about an index: its definition, its statistics and its errors.

The shapes are those the Python client parses (``IndexDefinition.from_json``, ``IndexStats.from_json``,
``IndexErrors.from_json``); fields rookdb does not have (map-reduce, references) carry RavenDB's
neutral values.
"""

from __future__ import annotations

from typing import Any

from rookdb.indexes.auto_map_reduce import AutoMapReduceDefinition
from rookdb.indexes.definitions import AutoMapDefinition, FieldIndexing, IndexDefinition
from rookdb.indexes.index import Index
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.storage.base import DocumentStorage

__all__ = ["auto_index_record_json", "definition_json", "errors_json", "fields_json", "stats_json"]

_LISTED_ERRORS = 10


def fields_json(definition: IndexDefinition) -> dict[str, dict[str, Any]]:
    """``Fields`` as RavenDB lists an auto-index's: ``Name`` (Default), ``search(Name)``, ``exact(Name)``."""
    fields: dict[str, dict[str, Any]] = {}
    if isinstance(definition, AutoMapDefinition):
        for field in definition.fields:
            for use in FieldIndexing:
                if use in field.indexing:
                    name = field.name if use is FieldIndexing.DEFAULT else f"{use.value.lower()}({field.name})"
                    fields[name] = _field(use.value)
    elif isinstance(definition, StaticIndexDefinition):
        return {name: options.to_json() for name, options in definition.fields.items()}
    elif isinstance(definition, AutoMapReduceDefinition):
        return {field.name: _field("Default") for field in definition.group_by}
    else:
        for stored in definition.stored_fields():
            fields[stored.name] = _field("Search" if stored.search else "Default")
    return fields


def auto_index_record_json(definition: AutoMapDefinition) -> dict[str, Any]:
    """An auto-index as the database record lists it under ``AutoIndexes`` (RavenDB's ``AutoIndexDefinition``)."""
    fields: dict[str, dict[str, Any]] = {}
    for field in definition.fields:
        uses = [use for use in (FieldIndexing.SEARCH, FieldIndexing.EXACT) if use in field.indexing]
        fields[field.name] = {
            "Storage": "No", "Indexing": uses[0].value if uses else "Default", "Aggregation": "None",
            "Spatial": None, "Vector": None, "GroupByArrayBehavior": "NotApplicable", "Suggestions": False,
            "IsNameQuoted": "'" in field.name}
    return {"Type": "AutoMap", "Name": definition.name, "Priority": "Normal", "State": None,
            "Collection": definition.collection or "@all_docs", "MapFields": fields, "GroupByFields": {}}


def _field(indexing: str) -> dict[str, Any]:
    return {"Indexing": indexing, "Storage": "No", "TermVector": None, "Spatial": None, "Analyzer": None,
            "Suggestions": None, "Vector": None}


def definition_json(index: Index, storage: DocumentStorage, name: str | None = None) -> dict[str, Any]:
    """The index as ``GET /indexes`` lists it: an ``IndexDefinition``, plus its state. ``name`` is the name
    it is listed by (``ReplacementOf/<name>`` for a side-by-side build)."""
    definition = index.definition
    kind = definition.type_name
    described: dict[str, Any] = {
        "Name": name or definition.name,
        "Type": kind,
        "IndexType": kind,
        "SourceType": "Documents",
        "SearchEngineType": "Corax",
        "Collection": definition.collection,
        "Priority": "Normal",
        "State": "Normal",
        "LockMode": "Unlock",
        "Maps": [],
        "Reduce": None,
        "Fields": fields_json(definition),
        "Configuration": {},
        "AdditionalSources": {},
        "AdditionalAssemblies": [],
        "OutputReduceToCollection": None,
        "ReduceOutputIndex": None,
        "PatternForOutputReduceToCollectionReferences": None,
        "PatternReferencesCollectionName": None,
    }
    if isinstance(definition, AutoMapReduceDefinition):
        described["Maps"], described["Reduce"] = definition.wire_maps()
    if isinstance(definition, StaticIndexDefinition):
        described.update(definition.wire)
        described["Name"] = name or definition.name
        described["Collection"] = definition.collection
    described["State"] = "Disabled" if index.store.state == "Disabled" else described["State"]
    return {
        **described,
        "IsStale": index.is_stale(storage),
        "EntriesCount": index.store.counters["doc_count"],
        "LastIndexedEtag": index.checkpoint,
        "ErrorsCount": index.store.counters["map_errors"] + index.store.counters["reduce_errors"],
        "Errors": [error.to_json() for error in index.store.errors()[-_LISTED_ERRORS:]],
    }


def stats_json(index: Index, storage: DocumentStorage, name: str | None = None) -> dict[str, Any]:
    """``IndexStats`` (``GetIndexStatisticsOperation``)."""
    counters = index.store.counters
    stale = index.is_stale(storage)
    lag = max(storage.last_etag() - index.checkpoint, 0) if stale else 0
    definition = index.definition
    reduces = isinstance(definition, StaticIndexDefinition | AutoMapReduceDefinition) and definition.is_map_reduce
    wire = definition.wire if isinstance(definition, StaticIndexDefinition) else {}
    state = "Disabled" if index.store.state == "Disabled" else str(wire.get("State") or "Normal")
    return {
        "Name": name or index.name,
        "MapAttempts": counters["map_attempts"],
        "MapSuccesses": counters["map_successes"],
        "MapErrors": counters["map_errors"],
        "MapReferenceAttempts": 0,
        "MapReferenceSuccesses": 0,
        "MapReferenceErrors": 0,
        "ReduceAttempts": counters["reduce_attempts"] if reduces else None,
        "ReduceSuccesses": counters["reduce_successes"] if reduces else None,
        "ReduceErrors": counters["reduce_errors"] if reduces else None,
        "ReduceOutputCollection": None,
        "ReduceOutputReferencePattern": None,
        "PatternReferencesCollectionName": None,
        "MappedPerSecondRate": 0.0,
        "ReducedPerSecondRate": 0.0,
        "MaxNumberOfOutputsPerDocument": 1,
        "Collections": {collection or "@all_docs": {
            "LastProcessedDocumentEtag": index.checkpoint, "LastProcessedTombstoneEtag": index.checkpoint,
            "DocumentLag": lag, "TombstoneLag": 0} for collection in definition.collections()},
        "LastQueryingTime": index.last_query_time,
        "State": state,
        "Priority": str(wire.get("Priority") or "Normal"),
        "CreatedTimestamp": index.store.created,
        "LastIndexingTime": index.store.last_indexed,
        "IsStale": stale,
        "LockMode": str(wire.get("LockMode") or "Unlock"),
        "Type": definition.type_name,
        "Status": "Disabled" if state == "Disabled" else "Running",
        "EntriesCount": counters["doc_count"],
        "ErrorsCount": len(index.store.errors()),
        "SourceType": "Documents",
        "IsTestIndex": False,
    }


def errors_json(index: Index, name: str | None = None) -> dict[str, Any]:
    """``IndexErrors`` (``GetIndexErrorsOperation``): the latest errors, oldest first."""
    return {"Name": name or index.name, "Errors": [error.to_json() for error in index.store.errors()]}
