"""The tables of one PostgreSQL database shared by every rookdb node.

The catalog schema (``rookdb`` unless configured) has one row per rookdb database; each rookdb
database gets a schema of its own, ``<catalog>_db_<catalog id>``, so dropping a database is one
``DROP SCHEMA`` and a re-created name never sees the old rows. Several rookdb clusters can share
one PostgreSQL database under different catalog names. Keys compare byte-wise (``COLLATE "C"``), as SQLite's
do, so prefix ranges and orders are the same on both backends.
"""

from __future__ import annotations

import re

__all__ = [
    "CATALOG_LOCK",
    "CLUSTER_LOCK",
    "DEFAULT_CATALOG",
    "LAYOUT_VERSION",
    "catalog_tables",
    "database_tables",
    "feed_channel",
    "is_catalog_name",
    "schema_name",
]

DEFAULT_CATALOG = "rookdb"
LAYOUT_VERSION = 1
# Any constant works: it only serializes nodes creating a catalog at the same moment.
CATALOG_LOCK = 0x726F6F6B_6462
# Serializes heartbeats, so that two nodes joining at once never pick the same free tag.
CLUSTER_LOCK = 0x726F6F6B_6E64
# Lower-case so it needs no quoting; short enough that "<catalog>_db_<id>" fits PostgreSQL's 63 bytes.
_CATALOG_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,39}$")


def is_catalog_name(name: str) -> bool:
    return bool(_CATALOG_NAME.match(name)) and not name.startswith("pg_")


def catalog_tables(catalog: str) -> str:
    return f"""
CREATE SCHEMA IF NOT EXISTS {catalog};
CREATE TABLE IF NOT EXISTS {catalog}.databases (
    id bigserial PRIMARY KEY,
    lower_name text COLLATE "C" NOT NULL UNIQUE,
    name text NOT NULL,
    layout_version integer NOT NULL,
    created timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS {catalog}.nodes (
    tag text COLLATE "C" PRIMARY KEY,
    url text NOT NULL,
    incarnation text NOT NULL,
    heartbeat timestamptz NOT NULL,
    live boolean NOT NULL
);
CREATE TABLE IF NOT EXISTS {catalog}.topology (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    etag bigint NOT NULL DEFAULT 1
);
INSERT INTO {catalog}.topology DEFAULT VALUES ON CONFLICT DO NOTHING;
"""


def feed_channel(catalog: str) -> str:
    """The LISTEN/NOTIFY channel where a write names the schema whose change feed (or record) moved."""
    return f"{catalog}_feed"


def schema_name(catalog: str, database_number: int) -> str:
    return f"{catalog}_db_{database_number}"


def database_tables(schema: str) -> str:
    """DDL for one database; ``head`` is its one row: id, change-feed head and the database record."""
    return f"""
CREATE SCHEMA {schema};
CREATE TABLE {schema}.head (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    database_id text NOT NULL,
    last_etag bigint NOT NULL DEFAULT 0,
    record bytea,
    record_etag bigint NOT NULL DEFAULT 0,
    compare_exchange_index bigint NOT NULL DEFAULT 0
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
CREATE TABLE {schema}.identities (name text COLLATE "C" PRIMARY KEY, value bigint NOT NULL);
CREATE TABLE {schema}.compare_exchange (
    lower_key text COLLATE "C" PRIMARY KEY,
    key text NOT NULL,
    idx bigint NOT NULL,
    value bytea NOT NULL
);
CREATE TABLE {schema}.compare_exchange_tombstones (lower_key text COLLATE "C" PRIMARY KEY, idx bigint NOT NULL);
CREATE TABLE {schema}.state (key text COLLATE "C" PRIMARY KEY, value bytea NOT NULL);
"""
