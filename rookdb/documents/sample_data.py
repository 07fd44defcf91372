"""Sample databases shipped with rookdb (RavenDB's Northwind)."""

from __future__ import annotations

from importlib import resources
from typing import Any

import orjson

from rookdb.documents.database import Database

__all__ = ["SAMPLES", "import_sample", "sample_documents"]

SAMPLES = {"northwind": "northwind.json"}


def sample_documents(sample: str) -> list[dict[str, Any]]:
    """The documents of a sample, each with ``@metadata`` ``@id`` and ``@collection``."""
    resource = resources.files("rookdb.documents").joinpath("samples", SAMPLES[sample])
    documents: list[dict[str, Any]] = orjson.loads(resource.read_bytes())
    return documents


def import_sample(database: Database, sample: str = "northwind") -> int:
    """Load a sample into ``database`` (documents with the same ids are replaced); returns the count."""
    documents = sample_documents(sample)
    return database.insert_many((doc["@metadata"]["@id"], doc) for doc in documents)
