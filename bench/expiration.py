"""Document expiration: what a run of the expirer costs against the work it cannot avoid.

Run: .venv/bin/python bench/expiration.py [--documents 20000]

One database of small documents that all carry ``@metadata.@expires``, and a twin with the same
documents for the limits. Rows:

- *index*: the expirer's first run over the whole change feed (nothing is due yet), against the
  limit of reading the same feed and parsing every document once;
- *delete*: the run after the expiry, deleting every document, against the limit of deleting the
  same documents from the twin in the same batches, without the expirer's bookkeeping.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
from table import Table

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.database import Database
from rookdb.documents.expiration import DocumentExpirer
from rookdb.settings import Settings
from rookdb.wire import format_timestamp

NOW = datetime(2026, 6, 1, tzinfo=UTC)
FEED_PAGE = 1024
DELETE_BATCH = 512


def _seconds(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def _fill(database: Database, count: int) -> list[str]:
    expires = format_timestamp(NOW + timedelta(days=1))
    ids = [f"cache/{n}" for n in range(count)]
    database.insert_many((doc_id, {"Text": f"entry {doc_id}", "@metadata": {"@collection": "Cache",
                                                                           "@expires": expires}})
                         for doc_id in ids)
    return ids


def _read_feed(database: Database) -> int:
    position, parsed = 0, 0
    while changes := database.storage.changes_since(position, FEED_PAGE):
        for change in changes:
            if change.document is not None:
                parsed += bool(orjson.loads(change.document.body))
        position = changes[-1].etag
    return parsed


def _delete_all(database: Database, ids: list[str]) -> None:
    for start in range(0, len(ids), DELETE_BATCH):
        with database.storage.write() as tx:
            for doc_id in ids[start : start + DELETE_BATCH]:
                database.delete_in(tx, doc_id)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=20_000)
    args = parser.parse_args()
    table = Table(["step", "documents", "expirer s", "limit s", "vs limit"])
    with tempfile.TemporaryDirectory(prefix="rookdb-bench-expiration-") as folder:
        catalog = DatabaseCatalog(Path(folder), Settings({"Expiration.DeleteFrequencyInSec": 3600.0}, environ={}))
        try:
            measured, twin = catalog.create("Expiring").database, catalog.create("Twin").database
            ids = _fill(measured, args.documents)
            _fill(twin, args.documents)
            now = [NOW]
            expirer = DocumentExpirer(measured, clock=lambda: now[0])
            steps = [("index", expirer.tick, lambda: _read_feed(twin)),
                     ("delete", expirer.tick, lambda: _delete_all(twin, ids))]
            for step, run, limit in steps:
                ran, floor = _seconds(run), _seconds(limit)
                table.row(step, f"{args.documents:,}", f"{ran:.3f}", f"{floor:.3f}", f"{floor / ran:.2f}")
                now[0] = NOW + timedelta(days=2)
            if measured.storage.count("Cache") != 0:
                raise SystemExit("the expirer left documents behind")
        finally:
            catalog.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
