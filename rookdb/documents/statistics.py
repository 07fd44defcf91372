"""Database statistics in RavenDB's shapes: ``/stats``, ``/stats/detailed`` and ``/collections/stats``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rookdb.documents.database import Database

__all__ = ["collection_statistics", "database_statistics", "detailed_statistics", "humane_size", "index_information"]

_UNITS = ("Bytes", "KBytes", "MBytes", "GBytes", "TBytes")


def humane_size(size: int) -> str:
    """RavenDB's readable size: ``512 Bytes``, ``1.5 MBytes``."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            return f"{int(value)} {unit}" if unit == "Bytes" else f"{value:.2f} {unit}".replace(".00 ", " ")
        value /= 1024
    raise AssertionError("unreachable")


def _size(size: int) -> dict[str, Any]:
    return {"HumaneSize": humane_size(size), "SizeInBytes": size}


_INFORMATION = ("Name", "IsStale", "State", "LockMode", "Priority", "Type", "SourceType", "LastIndexingTime")


def index_information(stats: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The ``IndexInformation`` entries of ``/stats``, from each index's ``IndexStats``."""
    return [{key: entry.get(key) for key in _INFORMATION} for entry in stats]


def database_statistics(database: Database, indexes: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``GetStatisticsOperation``'s answer; ``indexes`` are the ``IndexInformation`` entries.

    ``Collections`` (name → count) is rookdb's addition for the Studio; clients ignore it.
    """
    storage = database.storage
    stored = storage.statistics()
    last_etag = storage.last_etag()
    return {
        "LastDocEtag": last_etag,
        "LastDatabaseEtag": last_etag,
        "CountOfIndexes": len(indexes),
        "CountOfDocuments": stored.documents,
        "CountOfRevisionDocuments": 0,
        "CountOfDocumentsConflicts": 0,
        "CountOfTombstones": stored.tombstones,
        "CountOfConflicts": 0,
        "CountOfAttachments": stored.attachments,
        "CountOfUniqueAttachments": stored.unique_attachments,
        "CountOfCounterEntries": 0,
        "CountOfTimeSeriesSegments": 0,
        "Indexes": list(indexes),
        "DatabaseChangeVector": f"A:{last_etag}-{storage.database_id}" if last_etag else "",
        "DatabaseId": storage.database_id,
        "Is64Bit": True,
        "Pager": type(storage).__name__,
        "LastIndexingTime": max((entry["LastIndexingTime"] for entry in indexes if entry.get("LastIndexingTime")),
                                default=None),
        "SizeOnDisk": _size(stored.size_on_disk),
        "TempBuffersSizeOnDisk": _size(0),
        "NumberOfTransactionMergerQueueOperations": 0,
        "Collections": storage.collection_counts(),
    }


def detailed_statistics(database: Database, indexes: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """``GetDetailedStatisticsOperation``'s answer: the statistics plus identities and compare-exchange."""
    stored = database.storage.statistics()
    return {
        **database_statistics(database, indexes),
        "CountOfIdentities": stored.identities,
        "CountOfCompareExchange": stored.compare_exchange,
        "CountOfCompareExchangeTombstones": stored.compare_exchange_tombstones,
        "CountOfTimeSeriesDeletedRanges": 0,
    }


def collection_statistics(database: Database) -> dict[str, Any]:
    """``GetCollectionStatisticsOperation``'s answer."""
    counts = database.storage.collection_counts()
    return {"CountOfDocuments": sum(counts.values()), "CountOfConflicts": 0, "Collections": counts}
