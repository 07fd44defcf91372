"""Dynamic queries answered from auto-indexes: rookdb vs. its limit and vs. its previous full scan.

Run: .venv/bin/python bench/queries.py                  # 10k, 100k and 1M documents (1M is slow)
     .venv/bin/python bench/queries.py --documents 10000 100000
     .venv/bin/python bench/queries.py --documents 100000 --http
     .venv/bin/python bench/queries.py --documents 1000000 --shapes equality range search   # a subset

Each size gets a fresh database of small products (``Name``, ``Price``, ``Cat``, ``Desc`` and a
16-dimension vector ``Vec``) and runs every query shape on three engines, in the same process and
the same run:

- rookdb: the database's query path (``run_query``: parse, pick the auto-index, answer from it, load
  the page's documents), exactly what ``/queries`` runs for the official client;
- the limit: the same lookups on a raw SQLite table of the same JSON with an expression index per
  field (an FTS5 table for ``search``, a usearch graph for the vector side of the hybrid), returning
  parsed documents and the total count;
- the previous path: rookdb's executor scanning the collection, as every query did before indexes.

With ``--http`` the same shapes also run through the official client against ``rookdb serve`` (data
loaded with ``store.bulk_insert()``, as a user would): the end-to-end latency a client sees.

Parameters vary per query so that each shape returns about the same number of documents at every
size (a range of ~20 products, a category of 1%, two words each in ~160 descriptions: the vocabulary
grows with the size). The limit's FTS5 query ORs the words as ``search()`` does. Both engines run
the same lookups, in blocks of ``BLOCK`` queries per engine whose order alternates: but for the first
of a block, no query follows the other engine's, whose data fills the processor's caches. Reported:
p50/p99 in milliseconds, the first query (it creates the index and waits for it, bounded) and the time until
the index is complete. Beside each p50, the p50 of the CPU time the query's thread used: on a loaded
machine a query that needs more CPU than the scheduler's slice waits for the other tasks' slices, and
its elapsed time grows many times over while its CPU time does not.
"""

from __future__ import annotations

import argparse
import functools
import json
import random
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson
from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.querying import DatabaseQuerySource, run_query
from rookdb.documents.services import DatabaseServices
from rookdb.query import execute
from rookdb.settings import Settings
from rookdb.testing.server_process import ServerProcess

SIZES = (10_000, 100_000, 1_000_000)
CATEGORIES = 100
DIMENSIONS = 16
PRICE_STEP = 0.01
"""Prices are drawn with two decimals (``product``)."""
DOCUMENTS_PER_WORD = 20
"""The vocabulary grows with the size: each word is in about 8 x 20 = 160 descriptions at every size."""
RESULTS = Path(__file__).resolve().parent / "results"
WAIT_FOR_INDEX_SECONDS = 3600.0
BLOCK = 20
"""Timed queries per engine in a row (see ``measure``)."""


@dataclass
class Shape:
    """One query shape: its RQL, how to draw parameters, and the same lookup on the raw limit."""

    name: str
    rql: str
    parameters: Callable[[random.Random, int], dict[str, Any]]
    sql: str | None = None
    count_sql: str | None = None


def _window(draws: random.Random, count: int) -> dict[str, Any]:
    # About 20 products whatever the size. Prices have two decimals and `between` takes both ends, so a
    # window of width w holds w / PRICE_STEP + 1 prices, each shared by count / 100,000 products at 1M.
    width = 1000.0 * 20 / count - PRICE_STEP
    low = round(draws.uniform(0, 1000 - width), 2)
    return {"lo": low, "hi": round(low + width, 2)}


def _words(count: int) -> list[str]:
    return [f"w{n}" for n in range(max(count // DOCUMENTS_PER_WORD, 1))]


def _terms(draws: random.Random, count: int) -> str:
    return " ".join(draws.sample(_words(count), 2))


def _vector(draws: random.Random) -> list[float]:
    return [round(draws.gauss(0, 1), 4) for _ in range(DIMENSIONS)]


SHAPES = [
    Shape("equality", "from Products where Name = $n", lambda r, n: {"n": f"Product {r.randrange(n)}"},
          "SELECT body FROM docs WHERE json_extract(body, '$.Name') = :n"),
    Shape("range", "from Products where Price between $lo and $hi", _window,
          "SELECT body FROM docs WHERE json_extract(body, '$.Price') BETWEEN :lo AND :hi"),
    Shape("order by limit", "from Products order by Price as double desc limit 10", lambda r, n: {},
          "SELECT body FROM docs ORDER BY json_extract(body, '$.Price') DESC LIMIT 10", "SELECT count(*) FROM docs"),
    Shape("equality limit", "from Products where Cat = $c limit 10",
          lambda r, n: {"c": f"c{r.randrange(CATEGORIES)}"},
          "SELECT body FROM docs WHERE json_extract(body, '$.Cat') = :c LIMIT 10",
          "SELECT count(*) FROM docs WHERE json_extract(body, '$.Cat') = :c"),
    Shape("search", "from Products where search(Desc, $t) limit 10", lambda r, n: {"t": _terms(r, n)},
          "SELECT d.body FROM fts JOIN docs d ON d.rowid = fts.rowid WHERE fts MATCH :t ORDER BY rank LIMIT 10",
          "SELECT count(*) FROM fts WHERE fts MATCH :t"),
    Shape("hybrid", "from Products where vector.search(Vec, $v) or search(Desc, $t) limit 10",
          lambda r, n: {"v": _vector(r), "t": _terms(r, n)}),
]


def product(number: int, draws: random.Random, words: list[str]) -> dict[str, Any]:
    return {"Name": f"Product {number}", "Price": round(draws.uniform(0, 1000), 2), "Cat": f"c{number % CATEGORIES}",
            "Desc": " ".join(draws.choices(words, k=8)), "Vec": _vector(draws)}


def products(count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    draws = random.Random(17)
    words = _words(count)
    for number in range(count):
        yield f"products/{number}", product(number, draws, words)


@dataclass
class Timings:
    samples: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    def time(self, run: Callable[[], object]) -> None:
        started, used = time.perf_counter(), time.thread_time()
        run()
        self.samples.append((time.perf_counter() - started) * 1000)
        self.cpu.append((time.thread_time() - used) * 1000)

    def summary(self) -> dict[str, float]:
        ordered = sorted(self.samples)
        return {"p50": statistics.median(ordered), "p99": ordered[min(len(ordered) - 1, round(0.99 * len(ordered)))],
                "cpu_p50": statistics.median(self.cpu)}


class RawLimit:
    """The same documents in a plain SQLite table with an expression index per field, FTS5 for
    ``Desc``, and a usearch graph (RavenDB's 12 edges) for ``Vec``."""

    def __init__(self, folder: Path, services: DatabaseServices, vectors: bool = True) -> None:
        """``vectors``: also build the usearch graph (the hybrid shape needs it)."""
        # Imported here, after rookdb: usearch loaded before onnxruntime crashes the process (both ship OpenMP).
        from usearch.index import Index as UsearchIndex

        path = folder / "limit.sqlite3"
        if not path.exists():  # built under another name first: a run stopped midway leaves no half limit
            self._build(folder / "limit.partial", services)
            (folder / "limit.partial").rename(path)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._vectors = UsearchIndex(ndim=DIMENSIONS, metric="cos", connectivity=12, expansion_add=64,
                                     expansion_search=64)
        if vectors:
            keys, rows = [], []
            for rowid, body in self._db.execute("SELECT rowid, body FROM docs"):
                keys.append(rowid)
                rows.append(orjson.loads(body)["Vec"])
            self._vectors.add(np.array(keys, dtype=np.uint64), np.array(rows, dtype=np.float32), threads=2)

    @staticmethod
    def _build(path: Path, services: DatabaseServices) -> None:
        path.unlink(missing_ok=True)
        db = sqlite3.connect(path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE docs (id TEXT PRIMARY KEY, body TEXT NOT NULL)")
        db.execute("CREATE VIRTUAL TABLE fts USING fts5(body)")
        db.execute("BEGIN")
        for stored in services.database.storage.iter_collection("Products"):
            document = orjson.loads(stored.body)
            rowid = db.execute("INSERT INTO docs VALUES (?, ?)", (stored.id, stored.body.decode())).lastrowid
            db.execute("INSERT INTO fts (rowid, body) VALUES (?, ?)", (rowid, document["Desc"]))
        for name in ("Name", "Price", "Cat"):
            db.execute(f"CREATE INDEX docs_{name} ON docs (json_extract(body, '$.{name}'))")
        db.execute("COMMIT")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.close()

    def run(self, shape: Shape, parameters: dict[str, Any]) -> int:
        if "t" in parameters:  # search() ORs its terms (RavenDB's default); FTS5 would AND juxtaposed words
            parameters = {**parameters, "t": " OR ".join(parameters["t"].split())}
        if shape.name == "hybrid":  # both sides, fused by the caller: what an application would do
            hits = self._vectors.search(np.array(parameters["v"], dtype=np.float32), 16).keys.tolist()
            texts = self._db.execute("SELECT rowid FROM fts WHERE fts MATCH :t ORDER BY rank LIMIT 10",
                                     parameters).fetchall()
            wanted = list(dict.fromkeys([*hits, *(rowid for (rowid,) in texts)]))[:10]
            marks = ",".join("?" * len(wanted))
            return len([orjson.loads(body) for (body,) in self._db.execute(
                f"SELECT body FROM docs WHERE rowid IN ({marks})", wanted)])
        assert shape.sql is not None
        rows = [orjson.loads(body) for (body,) in self._db.execute(shape.sql, parameters)]
        if shape.count_sql is not None:
            return int(self._db.execute(shape.count_sql, parameters).fetchone()[0])
        return len(rows)

    def close(self) -> None:
        self._db.close()


@contextmanager
def database(folder: Path, count: int) -> Iterator[DatabaseServices]:
    """The products database in ``folder``: opened as it is when a previous run kept it, else created."""
    # The first query of a shape waits for its index: on a loaded machine that may take longer than a
    # query's usual time limit.
    catalog = DatabaseCatalog(folder / "data", Settings({"Query.TimeoutInSec": WAIT_FOR_INDEX_SECONDS}, environ={}))
    try:
        if catalog.exists("Bench"):
            yield catalog.get("Bench")
            return
        services = catalog.create("Bench")
        services.database.insert_many(((doc_id, {**body, "@metadata": {"@collection": "Products"}})
                                       for doc_id, body in products(count)), batch_size=10_000)
        yield services
    finally:
        catalog.close()


@contextmanager
def folder_for(keep: Path | None, count: int) -> Iterator[Path]:
    """Where a size's database and limit live: under ``keep`` (reused by the next run), else a scratch folder."""
    if keep is not None:
        kept = keep / str(count)
        kept.mkdir(parents=True, exist_ok=True)
        yield kept
        return
    with tempfile.TemporaryDirectory(prefix="rookdb-bench-") as scratch:
        yield Path(scratch)


def measure(count: int, repeats: int, scan_repeats: int, shapes: list[Shape], keep: Path | None = None
            ) -> dict[str, Any]:
    report: dict[str, Any] = {"documents": count, "shapes": {}}
    with folder_for(keep, count) as scratch, database(scratch, count) as services:
        source = DatabaseQuerySource(services.database)

        def rookdb(shape: Shape, parameters: dict[str, Any], wait: float | None = None) -> Any:
            return run_query(services.database, shape.rql, parameters, wait_for_non_stale=wait,
                             indexes=services.indexes, vectors=services.vectors)

        for shape in shapes:  # the first query of each shape builds its index, before the limit loads the CPU
            draws = random.Random(shape.name)
            started = time.perf_counter()
            first = rookdb(shape, shape.parameters(draws, count))
            first_query = time.perf_counter() - started
            rookdb(shape, shape.parameters(draws, count), wait=WAIT_FOR_INDEX_SECONDS)
            report["shapes"][shape.name] = {"first_query_s": first_query, "first_query_stale": first.is_stale,
                                            "index_complete_s": time.perf_counter() - started}
        limit = RawLimit(scratch, services, vectors=any(shape.name == "hybrid" for shape in shapes))
        for shape in shapes:
            draws = random.Random(shape.name + "/timed")
            engines = {"rookdb": Timings(), "limit": Timings(), "scan": Timings()}
            # Blocks of the same lookups, each engine's in a row and the engines' order alternating: a
            # query run right after the other engine's (the limit's count(*) reads the whole table) would
            # find the processor's caches filled with that engine's data and pay for it.
            for block in range(0, repeats, BLOCK):
                lookups = [shape.parameters(draws, count) for _ in range(min(BLOCK, repeats - block))]
                order = ("rookdb", "limit") if block // BLOCK % 2 == 0 else ("limit", "rookdb")
                for engine in order:
                    run: Callable[..., object] = rookdb if engine == "rookdb" else limit.run
                    for parameters in lookups:
                        engines[engine].time(functools.partial(run, shape, parameters))
            if shape.name != "hybrid":  # the scan needs the vector service's hook: it is timed for the others
                for _ in range(scan_repeats):
                    parameters = shape.parameters(draws, count)
                    engines["scan"].time(functools.partial(execute, shape.rql, parameters, source))
            report["shapes"][shape.name].update({name: timings.summary() for name, timings in engines.items()
                                                 if timings.samples})
        limit.close()
    return report


def measure_http(count: int, repeats: int, shapes: list[Shape]) -> dict[str, dict[str, float]]:
    """p50/p99 of each shape through the official client against ``rookdb serve``."""
    found: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="rookdb-bench-http-") as scratch:
        server = ServerProcess(Path(scratch) / "data")
        server.start()
        store = DocumentStore(urls=[server.url], database="Bench")
        try:
            store.initialize()
            store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("Bench")))
            with store.bulk_insert() as bulk:
                for doc_id, body in products(count):
                    bulk.store_as(body, doc_id, metadata={"@collection": "Products"})
            for shape in shapes:
                draws = random.Random(shape.name + "/http")

                def run(parameters: dict[str, Any], shape: Shape = shape, wait: bool = False) -> None:
                    with store.open_session() as session:
                        query = session.advanced.raw_query(shape.rql, dict)
                        for name, value in parameters.items():
                            query = query.add_parameter(name, value)
                        if wait:
                            query = query.wait_for_non_stale_results()
                        list(query)

                run(shape.parameters(draws, count), wait=True)
                timings = Timings()
                for _ in range(repeats):
                    timings.time(functools.partial(run, shape.parameters(draws, count)))
                found[shape.name] = timings.summary()
        finally:
            store.close()
            server.stop()
    return found


def table(reports: list[dict[str, Any]]) -> str:
    http = any("http" in shape for report in reports for shape in report["shapes"].values())
    header = ("| documents | query | rookdb p50 | p99 | limit p50 | vs limit | CPU p50 rookdb / limit "
              "| previous (scan) p50 | vs scan | first query | index complete |"
              + (" client over HTTP p50 |" if http else ""))
    lines = [header, "|" + "---:|" * (header.count("|") - 1)]
    for report in reports:
        for name, shape in report["shapes"].items():
            rookdb, limit = shape["rookdb"]["p50"], shape["limit"]["p50"]
            scan = shape.get("scan")
            scan_cells = (f"{scan['p50']:,.0f} ms | {scan['p50'] / rookdb:,.0f}x faster" if scan else "n/a | n/a")
            stale = " (stale)" if shape["first_query_stale"] else ""
            cpu, limit_cpu = shape["rookdb"]["cpu_p50"], shape["limit"]["cpu_p50"]
            line = (f"| {report['documents']:,} | {name} | {rookdb:.2f} ms | {shape['rookdb']['p99']:.2f} ms | "
                    f"{limit:.2f} ms | {rookdb / limit:.1f}x | {cpu:.2f} / {limit_cpu:.2f} ms "
                    f"({cpu / limit_cpu:.1f}x) | {scan_cells} | {shape['first_query_s']:.2f} s{stale} | "
                    f"{shape['index_complete_s']:.2f} s |")
            if http:
                line += f" {shape['http']['p50']:.2f} ms |" if "http" in shape else " |"
            lines.append(line)
    return "\n".join(lines)


def goals(reports: list[dict[str, Any]]) -> list[str]:
    """The goals: p50 at the largest size <= 5 ms and <= 3x the limit; largest <= 2x the smallest."""
    largest = max(reports, key=lambda report: report["documents"])
    smallest = min(reports, key=lambda report: report["documents"])
    lines = []
    for name in ("equality", "range", "order by limit"):
        if name not in largest["shapes"]:
            continue
        shape = largest["shapes"][name]
        p50, limit = shape["rookdb"]["p50"], shape["limit"]["p50"]
        lines.append(f"{name} at {largest['documents']:,}: p50 {p50:.2f} ms (<= 5 ms: "
                     f"{'met' if p50 <= 5 else 'NOT met'}), {p50 / limit:.1f}x the limit (<= 3x: "
                     f"{'met' if p50 <= 3 * limit else 'NOT met'})")
    if largest is not smallest:
        for name, shape in largest["shapes"].items():
            if name not in smallest["shapes"]:
                continue
            growth = shape["rookdb"]["p50"] / smallest["shapes"][name]["rookdb"]["p50"]
            cpu_growth = shape["rookdb"]["cpu_p50"] / smallest["shapes"][name]["rookdb"]["cpu_p50"]
            lines.append(f"{name}: p50 at {largest['documents']:,} = {growth:.1f}x the p50 at "
                         f"{smallest['documents']:,} (<= 2x: {'met' if growth <= 2 else 'NOT met'}; "
                         f"CPU p50 {cpu_growth:.1f}x)")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, nargs="+", help="the sizes to run (default: 10k, 100k and 1M)")
    parser.add_argument("--repeats", type=int, default=200, help="timed queries per shape and engine")
    parser.add_argument("--scan-repeats", type=int, help="timed full scans per shape (default: by size)")
    parser.add_argument("--keep", type=Path, metavar="FOLDER",
                        help="keep each size's database and limit under FOLDER and reuse them in later runs "
                             "(a reused database's indexes exist already: its first-query times are not builds)")
    parser.add_argument("--http", action="store_true", help="also time the shapes through the official client")
    parser.add_argument("--shapes", nargs="+", choices=[shape.name for shape in SHAPES], metavar="SHAPE",
                        help="the query shapes to run (default: all; quote names with spaces)")
    args = parser.parse_args()
    sizes = tuple(args.documents) if args.documents else SIZES
    shapes = [shape for shape in SHAPES if args.shapes is None or shape.name in args.shapes]
    reports = []
    for count in sizes:
        scans = args.scan_repeats if args.scan_repeats is not None else max(3, min(50, 2_000_000 // count))
        report = measure(count, args.repeats, scans, shapes, args.keep)
        if args.http:
            for name, timings in measure_http(count, max(args.repeats // 4, 5), shapes).items():
                report["shapes"][name]["http"] = timings
        reports.append(report)
        print(table([report]), flush=True)
    print()
    print(table(reports))
    print()
    print("\n".join(goals(reports)))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"queries-{'-'.join(str(count) for count in sizes)}.json").write_text(json.dumps(reports, indent=1))


if __name__ == "__main__":
    main()
