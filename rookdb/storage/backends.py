"""The one place a storage backend is chosen: by the scheme of ``Storage.Url``."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from rookdb.errors import ValidationError
from rookdb.settings import Settings
from rookdb.storage.base import StorageBackend
from rookdb.storage.sqlite_backend import SqliteBackend

__all__ = ["POSTGRESQL_SCHEMES", "describe_storage", "is_shared", "open_backend"]

POSTGRESQL_SCHEMES = ("postgresql", "postgres")


def _postgresql_url(settings: Settings) -> str | None:
    url: str = settings["Storage.Url"].strip()
    if not url:
        return None
    if urlsplit(url).scheme not in POSTGRESQL_SCHEMES:
        raise ValidationError("Storage.Url", "expected nothing (SQLite files in the data directory) or a "
                              "postgresql://user:password@host:port/dbname URL")
    return url


def is_shared(settings: Settings) -> bool:
    """Whether other nodes may serve the same databases (PostgreSQL), or this node alone (SQLite files)."""
    return _postgresql_url(settings) is not None


def describe_storage(settings: Settings, data_dir: Path) -> str:
    """Where the databases live, for people (never the password); nothing is opened."""
    url = _postgresql_url(settings)
    if url is None:
        return f"SQLite files under {data_dir / 'databases'}"
    parts = urlsplit(url)
    return f"PostgreSQL at {parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path}"


def open_backend(settings: Settings, data_dir: Path) -> StorageBackend:
    """SQLite files under ``data_dir/databases`` when ``Storage.Url`` is empty, else the database it names."""
    url = _postgresql_url(settings)
    if url is None:
        return SqliteBackend(data_dir / "databases")
    # psycopg loads only when PostgreSQL is configured.
    from rookdb.storage.postgresql import PostgresBackend, is_catalog_name

    catalog = settings["Storage.PostgreSql.Catalog"]
    if not is_catalog_name(catalog):
        raise ValidationError("Storage.PostgreSql.Catalog",
                              f"'{catalog}' is not a schema name: a-z, 0-9 and '_', at most 40 characters")
    return PostgresBackend(url, catalog=catalog, max_connections=settings["Storage.PostgreSql.MaxConnections"],
                           connect_timeout=settings["Storage.PostgreSql.ConnectTimeoutInSec"])
