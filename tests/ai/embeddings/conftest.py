"""Storage over a temporary SQLite file and a provider loop, shared by the embeddings tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from rookdb.background import ProviderLoop
from rookdb.storage.sqlite import SqliteStorage


@pytest.fixture
def storage(tmp_path: Path) -> Iterator[SqliteStorage]:
    opened = SqliteStorage(tmp_path / "db.sqlite3")
    yield opened
    opened.close()


@pytest.fixture
def provider_loop() -> Iterator[ProviderLoop]:
    loop = ProviderLoop()
    yield loop
    assert loop.stop()
