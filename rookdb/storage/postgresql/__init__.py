"""PostgreSQL backend: one shared PostgreSQL database holds every rookdb database, one schema each."""

from rookdb.storage.postgresql._schema import is_catalog_name
from rookdb.storage.postgresql.backend import PostgresBackend
from rookdb.storage.postgresql.storage import PostgresStorage

__all__ = ["PostgresBackend", "PostgresStorage", "is_catalog_name"]
