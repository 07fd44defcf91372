"""Map-reduce: map outputs kept by reduce key, and each affected key reduced again after every batch.

The map outputs of every source document are kept (``map_results``) with their reduce key and a
*bucket*, the etag range (``BUCKET_BITS``) of the document version that produced them. Each key's latest
results are kept too (``reduce_values``). After a batch:

* a key that only gained outputs is reduced from its previous results and its new outputs, so a batch's
  work follows what it added, not the size of the groups (RavenDB's rule that a reduce must accept its
  own output). Whether a reduce does is checked on the first keys, reduced both ways: one that does not
  (``g.Count()``) is reduced as below for the life of the process;
* a key that lost outputs (a source document changed or went) with at most ``DIRECT_REDUCE_LIMIT``
  outputs is reduced from all of them at once, so a reduce that cannot take its own results is still
  exact on small groups, as in RavenDB;
* a larger one keeps one reduce result per bucket (``reduce_buckets``): only the buckets that changed
  are reduced again, then the key's result is the reduce of its buckets' results.

A key's results replace its previous ones in the index (``reduce_results`` counts them); when a key's
last source document goes, its results go too. The results are stored whole: a query over a map-reduce
index returns them without loading any document.
"""

from __future__ import annotations

import hashlib
import math
import weakref
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import orjson

from rookdb.indexes.definitions import IndexBatch, IndexEntry
from rookdb.indexes.static.mapping import IndexReduce, MapFailure
from rookdb.indexes.values import is_number

if TYPE_CHECKING:
    from rookdb.indexes.static.indexing import DocumentToMap

__all__ = ["BUCKET_BITS", "DIRECT_REDUCE_LIMIT", "SCHEMA", "ReducingDefinition", "reduce_changes", "result_id"]

BUCKET_BITS = 10
"""Outputs of documents whose etags share their high bits above this share a bucket (1,024 etags)."""
DIRECT_REDUCE_LIMIT = 1024
"""A key with at most this many outputs is reduced from all of them at once."""
_IN_CHUNK = 500
_CHECKED_KEYS = 8
"""Keys reduced both ways before a reduce is trusted to accept its own output (for this process)."""
_REAPPLIES: weakref.WeakKeyDictionary[IndexReduce, bool] = weakref.WeakKeyDictionary()

SCHEMA = """
CREATE TABLE IF NOT EXISTS map_results (source TEXT NOT NULL, key TEXT NOT NULL, bucket INTEGER NOT NULL,
                                        body BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS map_results_by_source ON map_results (source);
CREATE INDEX IF NOT EXISTS map_results_by_key ON map_results (key, bucket);
CREATE TABLE IF NOT EXISTS reduce_buckets (key TEXT NOT NULL, bucket INTEGER NOT NULL, body BLOB NOT NULL,
                                           PRIMARY KEY (key, bucket)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reduce_results (key TEXT PRIMARY KEY, count INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS reduce_values (key TEXT PRIMARY KEY, body BLOB NOT NULL) WITHOUT ROWID;
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
    removed: set[str] = set()
    sources = [doc_id.lower() for doc_id in gone] + [document.doc_id.lower() for document in documents]
    for chunk in _chunks(sources):
        marks = ",".join("?" * len(chunk))
        for key, bucket in db.execute(f"SELECT key, bucket FROM map_results WHERE source IN ({marks})", chunk):
            affected.setdefault(key, set()).add(bucket)
            removed.add(key)
        db.execute(f"DELETE FROM map_results WHERE source IN ({marks})", chunk)
    produced = [(document, output) for document in documents
                for output in outputs.get(document.doc_id.lower(), ())]
    keys = reduce.keys([output for _, output in produced])
    rows: list[tuple[str, str, int, bytes]] = []
    added: dict[str, list[dict[str, Any]]] = {}
    for (document, output), key in zip(produced, keys, strict=True):
        if isinstance(key, MapFailure):
            batch.fail(document.doc_id, f"Cannot compute the reduce key: {key}")
            continue
        text = key_text(key)
        bucket = document.number >> BUCKET_BITS
        rows.append((document.doc_id.lower(), text, bucket, orjson.dumps(output, option=orjson.OPT_NON_STR_KEYS)))
        affected.setdefault(text, set()).add(bucket)
        added.setdefault(text, []).append(output)
    db.executemany("INSERT INTO map_results VALUES (?, ?, ?, ?)", rows)
    if affected:
        outcomes = _incremental(reduce, db, [key for key in affected if key not in removed], affected, added)
        outcomes.update(_recomputed(definition, batch, [key for key in affected if key not in outcomes], affected))
        _write_results(definition, batch, affected, outcomes)


_Outcome = list[dict[str, Any]] | MapFailure


def _incremental(reduce: IndexReduce, db: Any, candidates: list[str], affected: dict[str, set[int]],
                 added: dict[str, list[dict[str, Any]]]) -> dict[str, _Outcome]:
    """The new results of keys that only gained outputs, reduced from their previous results and the new
    outputs (a reduce must accept its own output); keys without a previous result are left out."""
    if not candidates or _REAPPLIES.get(reduce, reduce.reapplies) is False:
        return {}
    previous = dict(_rows_in(db, "SELECT key, body FROM reduce_values WHERE key IN ({})", candidates))
    keys = [key for key in candidates if key in previous]
    if not keys:
        return {}
    groups = [[*orjson.loads(previous[key]), *added[key]] for key in keys]
    outcomes = dict(zip(keys, reduce.reduce(groups), strict=True))
    if _REAPPLIES.get(reduce, reduce.reapplies) is None and not _reapplies(reduce, db, outcomes):
        return {}
    # The buckets that gained outputs no longer hold their outputs' reduce: rebuilt when next needed.
    db.executemany("DELETE FROM reduce_buckets WHERE key = ? AND bucket = ?",
                   [(key, bucket) for key in keys for bucket in affected[key]])
    return outcomes


def _reapplies(reduce: IndexReduce, db: Any, outcomes: dict[str, _Outcome]) -> bool:
    """Whether ``reduce`` gives the same results from its own results as from all the outputs (a reduce
    counting its inputs, ``g.Count()``, does not), judged on the first keys reduced both ways."""
    checked = [key for key, outcome in outcomes.items() if not isinstance(outcome, MapFailure)][:_CHECKED_KEYS]
    groups = [[orjson.loads(body) for (body,) in db.execute("SELECT body FROM map_results WHERE key = ?", (key,))]
              for key in checked]
    for key, whole in zip(checked, reduce.reduce(groups) if groups else [], strict=True):
        if not _same(whole, outcomes[key]):
            _REAPPLIES[reduce] = False
            return False
    if len(checked) == _CHECKED_KEYS:
        _REAPPLIES[reduce] = True
    return True


def _same(left: Any, right: Any) -> bool:
    """Equal JSON, numbers within rounding (sums added in another order)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[key], right[key]) for key in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(_same(a, b) for a, b in zip(left, right, strict=True))
    if is_number(left) and is_number(right):
        return math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-12)
    return bool(left == right)


def _recomputed(definition: ReducingDefinition, batch: IndexBatch, keys: list[str],
                affected: dict[str, set[int]]) -> dict[str, _Outcome]:
    """The results of ``keys`` reduced from their outputs: whole for small keys, by bucket for large ones."""
    reduce = definition.reduce
    assert reduce is not None
    db = batch.db
    if not keys:
        return {}
    counts = dict(_rows_in(db, "SELECT key, count(*) FROM map_results WHERE key IN ({}) GROUP BY key", keys))
    large = [key for key in keys if counts.get(key, 0) > DIRECT_REDUCE_LIMIT]
    bucket_results = _reduce_buckets(definition, batch, large, affected)
    db.executemany("DELETE FROM reduce_buckets WHERE key = ?", [(key,) for key in keys if key not in bucket_results])
    present = [key for key in keys if counts.get(key, 0)]
    groups: list[list[dict[str, Any]]] = []
    for key in present:
        if key in bucket_results:
            groups.append(bucket_results[key])
        else:
            groups.append([orjson.loads(body) for (body,) in
                           db.execute("SELECT body FROM map_results WHERE key = ?", (key,))])
    return dict(zip(present, reduce.reduce(groups) if groups else [], strict=True))


def _write_results(definition: ReducingDefinition, batch: IndexBatch, affected: dict[str, set[int]],
                   outcomes: dict[str, _Outcome]) -> None:
    """Replace each affected key's results in the index (a key without outcome has no outputs left)."""
    db = batch.db
    previous = dict(_rows_in(db, "SELECT key, count FROM reduce_results WHERE key IN ({})", list(affected)))
    number = int(db.execute("SELECT coalesce(max(doc), 0) FROM docs").fetchone()[0])
    for key in affected:
        for position in range(previous.get(key, 0)):
            batch.remove(result_id(key, position))
    for key in affected:
        outcome = outcomes.get(key)
        if outcome is None or isinstance(outcome, MapFailure):
            if isinstance(outcome, MapFailure):
                batch.fail(f"Reduce key: {key}", str(outcome), "Reduce")
            db.execute("DELETE FROM reduce_results WHERE key = ?", (key,))
            db.execute("DELETE FROM reduce_values WHERE key = ?", (key,))
            continue
        for position, result in enumerate(outcome):
            number += 1
            entries, _ = definition.entries([result])
            batch.add(number, result_id(key, position), entries, result)
        db.execute("INSERT OR REPLACE INTO reduce_results VALUES (?, ?)", (key, len(outcome)))
        db.execute("INSERT OR REPLACE INTO reduce_values VALUES (?, ?)",
                   (key, orjson.dumps(outcome, option=orjson.OPT_NON_STR_KEYS)))
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
