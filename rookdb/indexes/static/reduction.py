"""Map-reduce: map outputs kept by reduce key, and each affected key reduced again after every batch.

The map outputs of every source document are kept (``map_results``) with their reduce key and a
*bucket*, the etag range (``BUCKET_BITS``) of the document version that produced them. After a batch,
every key whose outputs changed is reduced again:

* a key with at most ``DIRECT_REDUCE_LIMIT`` outputs is reduced from all of them at once, so a reduce
  that cannot take its own results (``g.Count()``) is still exact on small groups, as in RavenDB;
* a larger key keeps one reduce result per bucket (``reduce_buckets``): only the buckets the batch
  touched are reduced again, then the key's result is the reduce of its buckets' results. This is
  RavenDB's rule that a reduce must accept its own output, and it keeps a batch's work proportional
  to what changed rather than to the size of the groups.

A key's results replace its previous ones in the index (``reduce_results`` counts them); when a key's
last source document goes, its results go too. The results are stored whole: a query over a map-reduce
index returns them without loading any document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from rookdb.indexes.definitions import IndexBatch, IndexEntry
from rookdb.indexes.static.mapping import IndexReduce, MapFailure

if TYPE_CHECKING:
    from rookdb.indexes.static.indexing import DocumentToMap

__all__ = ["BUCKET_BITS", "DIRECT_REDUCE_LIMIT", "SCHEMA", "ReducingDefinition", "reduce_changes", "result_id"]

BUCKET_BITS = 10
"""Outputs of documents whose etags share their high bits above this share a bucket (1,024 etags)."""
DIRECT_REDUCE_LIMIT = 1024
"""A key with at most this many outputs is reduced from all of them at once."""
_IN_CHUNK = 500

SCHEMA = """
CREATE TABLE IF NOT EXISTS map_results (source TEXT NOT NULL, key TEXT NOT NULL, bucket INTEGER NOT NULL,
                                        body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS map_results_by_source ON map_results (source);
CREATE INDEX IF NOT EXISTS map_results_by_key ON map_results (key, bucket);
CREATE TABLE IF NOT EXISTS reduce_buckets (key TEXT NOT NULL, bucket INTEGER NOT NULL, body BLOB NOT NULL,
                                           PRIMARY KEY (key, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reduce_results (key TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
"""


class ReducingDefinition(Protocol):
    """What the reduction needs of a map-reduce definition (static, or an auto map-reduce index)."""

    @property
    def reduce(self) -> IndexReduce | None: ...

    def entries(self, outputs: Sequence[dict[str, Any]]) -> tuple[list[IndexEntry], dict[str, Any]]: ...


def result_id(key: str, position: int) -> str:
    """The entry id of a key's ``position``-th result (reduce results are not documents)."""
    digest = hashlib.blake2b(key.encode(), digest_size=10).hexdigest()
    return f"reduce/{digest}" + (f"/{position}" if position else "")


def key_text(key: Any) -> str:
    """A reduce key as canonical JSON (whole floats as integers: ``1.0`` and ``1`` are one key)."""
    return orjson.dumps(_canonical(key), option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()


def _canonical(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    return value


def reduce_changes(definition: ReducingDefinition, batch: IndexBatch, gone: Sequence[str],
                   documents: Sequence[DocumentToMap], outputs: dict[str, list[dict[str, Any]]]) -> None:
    """Replace the outputs of ``gone`` and ``documents``, then reduce every key they touched again."""
    reduce = definition.reduce
    assert reduce is not None
    db = batch.db
    affected: dict[str, set[int]] = {}
    sources = [doc_id.lower() for doc_id in gone] + [document.doc_id.lower() for document in documents]
    for chunk in _chunks(sources):
        marks = ",".join("?" * len(chunk))
        for key, bucket in db.execute(f"SELECT key, bucket FROM map_results WHERE source IN ({marks})", chunk):
            affected.setdefault(key, set()).add(bucket)
        db.execute(f"DELETE FROM map_results WHERE source IN ({marks})", chunk)
    produced = [(document, output) for document in documents
                for output in outputs.get(document.doc_id.lower(), ())]
    keys = reduce.keys([output for _, output in produced])
    rows: list[tuple[str, str, int, bytes]] = []
    for (document, output), key in zip(produced, keys, strict=True):
        if isinstance(key, MapFailure):
            batch.fail(document.doc_id, f"Cannot compute the reduce key: {key}")
            continue
        text = key_text(key)
        bucket = document.number >> BUCKET_BITS
        rows.append((document.doc_id.lower(), text, bucket, orjson.dumps(output, option=orjson.OPT_NON_STR_KEYS)))
        affected.setdefault(text, set()).add(bucket)
    db.executemany("INSERT INTO map_results VALUES (?, ?, ?, ?)", rows)
    if affected:
        _reduce_keys(definition, batch, affected)


def _reduce_keys(definition: ReducingDefinition, batch: IndexBatch, affected: dict[str, set[int]]) -> None:
    reduce = definition.reduce
    assert reduce is not None
    db = batch.db
    counts = dict(_rows_in(db, "SELECT key, count(*) FROM map_results WHERE key IN ({}) GROUP BY key",
                           list(affected)))
    large = [key for key in affected if counts.get(key, 0) > DIRECT_REDUCE_LIMIT]
    bucket_results = _reduce_buckets(definition, batch, large, affected)
    for key in affected:
        if key not in bucket_results:
            db.execute("DELETE FROM reduce_buckets WHERE key = ?", (key,))
    keys = [key for key in affected if counts.get(key, 0)]
    groups: list[list[dict[str, Any]]] = []
    for key in keys:
        if key in bucket_results:
            groups.append(bucket_results[key])
        else:
            groups.append([orjson.loads(body) for (body,) in
                           db.execute("SELECT body FROM map_results WHERE key = ?", (key,))])
    reduced = reduce.reduce(groups) if groups else []
    previous = dict(_rows_in(db, "SELECT key, count FROM reduce_results WHERE key IN ({})", list(affected)))
    number = int(db.execute("SELECT coalesce(max(doc), 0) FROM docs").fetchone()[0])
    for key in affected:
        for position in range(previous.get(key, 0)):
            batch.remove(result_id(key, position))
    results = dict(zip(keys, reduced, strict=True))
    for key in affected:
        outcome = results.get(key)
        if outcome is None or isinstance(outcome, MapFailure):
            if isinstance(outcome, MapFailure):
                batch.fail(f"Reduce key: {key}", str(outcome), "Reduce")
            db.execute("DELETE FROM reduce_results WHERE key = ?", (key,))
            continue
        for position, result in enumerate(outcome):
            number += 1
            entries, _ = definition.entries([result])
            batch.add(number, result_id(key, position), entries, result)
        db.execute("INSERT OR REPLACE INTO reduce_results VALUES (?, ?)", (key, len(outcome)))
        batch.reduced()


def _reduce_buckets(definition: ReducingDefinition, batch: IndexBatch, large: list[str],
                    affected: dict[str, set[int]]) -> dict[str, list[dict[str, Any]]]:
    """Bring the bucket results of large keys up to date; each key's bucket results, concatenated."""
    reduce = definition.reduce
    assert reduce is not None
    db = batch.db
    todo: list[tuple[str, int]] = []
    for key in large:
        present = {bucket for (bucket,) in db.execute(
            "SELECT DISTINCT bucket FROM map_results WHERE key = ?", (key,))}
        existing = {bucket for (bucket,) in db.execute("SELECT bucket FROM reduce_buckets WHERE key = ?", (key,))}
        db.executemany("DELETE FROM reduce_buckets WHERE key = ? AND bucket = ?",
                       [(key, bucket) for bucket in existing - present])
        todo.extend((key, bucket) for bucket in sorted((affected[key] & present) | (present - existing)))
    groups = [[orjson.loads(body) for (body,) in db.execute(
        "SELECT body FROM map_results WHERE key = ? AND bucket = ?", (key, bucket))] for key, bucket in todo]
    for (key, bucket), outcome in zip(todo, reduce.reduce(groups) if groups else [], strict=True):
        if isinstance(outcome, MapFailure):
            batch.fail(f"Reduce key: {key}", str(outcome), "Reduce")
            db.execute("DELETE FROM reduce_buckets WHERE key = ? AND bucket = ?", (key, bucket))
            continue
        db.execute("INSERT OR REPLACE INTO reduce_buckets VALUES (?, ?, ?)",
                   (key, bucket, orjson.dumps(outcome, option=orjson.OPT_NON_STR_KEYS)))
    results: dict[str, list[dict[str, Any]]] = {}
    for key in large:
        results[key] = [result for (body,) in db.execute(
            "SELECT body FROM reduce_buckets WHERE key = ? ORDER BY bucket", (key,)) for result in orjson.loads(body)]
    return results


def _chunks(values: list[str]) -> list[list[str]]:
    return [values[offset : offset + _IN_CHUNK] for offset in range(0, len(values), _IN_CHUNK)]


def _rows_in(db: Any, sql: str, values: list[str]) -> list[Any]:
    rows: list[Any] = []
    for chunk in _chunks(values):
        rows.extend(db.execute(sql.format(",".join("?" * len(chunk))), chunk).fetchall())
    return rows
