"""The tables of one PostgreSQL database shared by every rookdb node.

Schema ``rookdb`` holds the catalog (one row per rookdb database); each rookdb database gets a
schema of its own, ``rookdb_db_<catalog id>``, so dropping a database is one ``DROP SCHEMA`` and
a re-created name never sees the old rows. Keys compare byte-wise (``COLLATE "C"``), as SQLite's
do, so prefix ranges and orders are the same on both backends.
"""

from __future__ import annotations

__all__ = ["CATALOG", "CATALOG_LOCK", "CATALOG_SCHEMA", "LAYOUT_VERSION", "database_tables", "schema_name"]

CATALOG_SCHEMA = "rookdb"
LAYOUT_VERSION = 1
# Any constant works: it only serializes nodes creating the catalog at the same moment.
CATALOG_LOCK = 0x726F6F6B_6462

CATALOG = f"""
CREATE SCHEMA IF NOT EXISTS {CATALOG_SCHEMA};
CREATE TABLE IF NOT EXISTS {CATALOG_SCHEMA}.databases (
    id bigserial PRIMARY KEY,
    lower_name text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL,
    layout_version integer NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
"""


def schema_name(database_number: int) -> str:
    return f"rookdb_db_{database_number}"


def database_tables(schema: str) -> str:
    """DDL for one database; ``head`` is its one row: id, change-feed head and the database record."""
    return f"""
CREATE SCHEMA {schema};
CREATE TABLE {schema}.head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    database_id text NOT NULL,
    last_etag bigint NOT NULL DEFAULT 0,
    record bytea,
    record_etag bigint NOT NULL DEFAULT 0
);
CREATE TABLE {schema}.documents (
    lower_id text COLLATE "C" PRIMARY KEY,
    id text NOT NULL,
    collection text NOT NULL,
    lower_collection text COLLATE "C" NOT NULL,
    etag bigint NOT NULL UNIQUE,
    change_vector text NOT NULL,
    last_modified text NOT NULL,
    body bytea NOT NULL
);
CREATE INDEX ON {schema}.documents (lower_collection, etag);
CREATE TABLE {schema}.tombstones (
    lower_id text COLLATE "C" PRIMARY KEY,
    id text NOT NULL,
    collection text NOT NULL,
    lower_collection text COLLATE "C" NOT NULL,
    etag bigint NOT NULL UNIQUE
);
CREATE INDEX ON {schema}.tombstones (lower_collection, etag);
CREATE TABLE {schema}.attachment_contents (hash text COLLATE "C" PRIMARY KEY, content bytea NOT NULL);
-- Attachments (embeddings' vectors among them) rarely compress: store them out of line, uncompressed.
ALTER TABLE {schema}.attachment_contents ALTER COLUMN content SET STORAGE EXTERNAL;
CREATE TABLE {schema}.attachments (
    lower_doc_id text COLLATE "C" NOT NULL,
    name text COLLATE "C" NOT NULL,
    hash text COLLATE "C" NOT NULL,
    content_type text NOT NULL,
    size bigint NOT NULL,
    PRIMARY KEY (lower_doc_id, name)
);
CREATE INDEX ON {schema}.attachments (hash);
CREATE TABLE {schema}.hilo (tag text COLLATE "C" PRIMARY KEY, max bigint NOT NULL);
CREATE TABLE {schema}.state (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
"""
