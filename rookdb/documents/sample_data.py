"""Sample databases shipped with rookdb (RavenDB's Northwind)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.errors import BadRequestError

__all__ = ["SAMPLES", "import_sample", "sample_documents"]

SAMPLES = {"northwind": "northwind.json"}


def sample_documents(sample: str) -> list[dict[str, Any]]:
    """The documents of a sample, each with ``@metadata`` ``@id`` and ``@collection``."""
    resource = resources.files("rookdb.documents").joinpath("samples", SAMPLES[sample])
    documents: list[dict[str, Any]] = orjson.loads(resource.read_bytes())
    return documents


# Collections of rookdb's own bookkeeping, which do not make a database "already contain documents".
_OWN_COLLECTIONS = frozenset({"@hilo"})


def import_sample(database: Database, sample: str = "northwind") -> int:
    """Load a sample into an empty ``database``, as RavenDB does; returns the count."""
    counts = database.storage.collection_counts()
    if any(count > 0 for collection, count in counts.items() if collection.lower() not in _OWN_COLLECTIONS):
        raise BadRequestError("You cannot create sample data in a database that already contains documents")
    documents = sample_documents(sample)
    return database.insert_many((doc["@metadata"]["@id"], doc) for doc in documents)
