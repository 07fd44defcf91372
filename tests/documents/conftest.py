"""A catalog over a temporary data dir, for the documents-layer tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.settings import Settings


@pytest.fixture
def catalog(tmp_path: Path, storage_settings: dict[str, str]) -> Iterator[DatabaseCatalog]:
    settings = Settings({"Ai.Embeddings.MaxFallbackTimeInSec": 0.3, "Ai.Embeddings.MaxBatchSize": 8,
                         "Expiration.DeleteFrequencyInSec": 3600.0, **storage_settings}, environ={})
    opened = DatabaseCatalog(tmp_path, settings)
    yield opened
    opened.close()
