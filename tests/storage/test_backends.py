"""Choosing the backend from ``Storage.Url``."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb.errors import ValidationError
from rookdb.settings import Settings
from rookdb.storage.backends import describe_storage, open_backend
from rookdb.storage.postgresql import PostgresBackend
from rookdb.storage.sqlite_backend import SqliteBackend
from rookdb.testing.postgres_server import PostgresServer


def test_sqlite_files_in_the_data_dir_by_default(tmp_path: Path) -> None:
    backend = open_backend(Settings(environ={}), tmp_path)
    assert isinstance(backend, SqliteBackend) and backend.root == tmp_path / "databases"
    assert describe_storage(Settings(environ={}), tmp_path) == f"SQLite files under {tmp_path / 'databases'}"


def test_a_postgresql_url_opens_its_catalog(tmp_path: Path, postgres_server: PostgresServer) -> None:
    settings = Settings({"Storage.Url": postgres_server.url, "Storage.PostgreSql.Catalog": "chosen"}, environ={})
    backend = open_backend(settings, tmp_path)
    try:
        assert isinstance(backend, PostgresBackend) and backend.catalog == "chosen"
        backend.create("Shop").close()
        assert backend.names() == ["Shop"]
    finally:
        backend.close()
    assert not (tmp_path / "databases").exists()


def test_the_description_never_shows_the_password() -> None:
    settings = Settings({"Storage.Url": "postgresql://rook:s3cret@db.internal:6432/rookdb"}, environ={})
    assert describe_storage(settings, Path(".")) == "PostgreSQL at db.internal:6432/rookdb"


@pytest.mark.parametrize(("overrides", "key"), [
    ({"Storage.Url": "mysql://db/rookdb"}, "Storage.Url"),
    ({"Storage.Url": "/var/lib/rookdb"}, "Storage.Url"),
    ({"Storage.Url": "postgresql://db/rookdb", "Storage.PostgreSql.Catalog": "Has-Dashes"},
     "Storage.PostgreSql.Catalog"),
    ({"Storage.Url": "postgresql://db/rookdb", "Storage.PostgreSql.Catalog": "pg_catalog"},
     "Storage.PostgreSql.Catalog"),
])
def test_bad_storage_settings_name_their_key(tmp_path: Path, overrides: dict[str, str], key: str) -> None:
    with pytest.raises(ValidationError) as raised:
        open_backend(Settings(overrides, environ={}), tmp_path)
    assert raised.value.field == key
