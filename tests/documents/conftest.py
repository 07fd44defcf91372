"""A catalog over a temporary data dir, one database without services and a patch engine, for the
documents-layer tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.database import Database
from rookdb.documents.patching.engine import PatchEngine
from rookdb.settings import Settings
from rookdb.storage.sqlite import SqliteStorage


@pytest.fixture
def catalog(tmp_path: Path, storage_settings: dict[str, str]) -> Iterator[DatabaseCatalog]:
    settings = Settings({"Ai.Embeddings.MaxFallbackTimeInSec": 0.3, "Ai.Embeddings.MaxBatchSize": 8,
                         "Expiration.DeleteFrequencyInSec": 3600.0, **storage_settings}, environ={})
    opened = DatabaseCatalog(tmp_path, settings)
    yield opened
    opened.close()


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    opened = Database("Shop", SqliteStorage(tmp_path / "db.sqlite3"), tmp_path, Settings(environ={}))
    yield opened
    opened.close()


@pytest.fixture(scope="session")
def engine() -> Iterator[PatchEngine]:
    """A patch engine whose hosts start once per test process."""
    started = PatchEngine(time_limit_ms=2000, memory_limit_bytes=64 * 1024 * 1024, hosts=2, cached_scripts=4)
    yield started
    started.close()
