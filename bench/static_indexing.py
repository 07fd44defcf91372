"""Indexing throughput of static indexes beside an auto-index over the same fields.

Run: .venv/bin/python bench/static_indexing.py                      # 100k documents
     .venv/bin/python bench/static_indexing.py --documents 10000

One database of orders (``Company``, ``Employee``, ``Freight``, ``ShipCity``) is indexed from scratch by
each index in turn, in the same process and run, through the same path the indexing thread takes
(``Index.catch_up`` over the change feed, batch by batch, each batch committed with its checkpoint):

- the auto-index a dynamic query ``where Company = ... and Employee = ... and Freight > ... and ShipCity
  = ...`` creates (the reference);
- a LINQ map over the same four fields;
- the same map in JavaScript (V8 in the script host process);
- a LINQ map-reduce (orders and freight per company) over the same documents;
- the auto map-reduce index a dynamic ``group by Company select count(), sum(Freight)`` creates.

Reported: documents per second and the time relative to the auto-index; the goal is a LINQ map (and the
JavaScript map, whose documents reach V8 a batch per engine call) within 1.5x of the auto-index.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from table import Table

from rookdb.documents.catalog import DatabaseCatalog
from rookdb.documents.services import DatabaseServices
from rookdb.indexes.auto_map_reduce import Aggregation, AutoMapReduceDefinition, GroupByField
from rookdb.indexes.definitions import AutoIndexField, AutoMapDefinition, IndexDefinition
from rookdb.indexes.registry import IndexRegistry
from rookdb.indexes.static.definition import StaticIndexDefinition
from rookdb.settings import Settings

GOAL = 1.5
FIELDS = ("Company", "Employee", "Freight", "ShipCity")
LINQ_MAP = "from o in docs.Orders select new { o.Company, o.Employee, o.Freight, o.ShipCity }"
JS_MAP = "map('Orders', o => ({ Company: o.Company, Employee: o.Employee, Freight: o.Freight, ShipCity: o.ShipCity }))"
LINQ_REDUCE_MAP = "from o in docs.Orders select new { o.Company, Count = 1, Freight = o.Freight }"
LINQ_REDUCE = ("from r in results group r by r.Company into g "
               "select new { Company = g.Key, Count = g.Sum(x => x.Count), Freight = g.Sum(x => x.Freight) }")
CITIES = [f"City {n}" for n in range(200)]


def orders(count: int) -> Iterator[tuple[str, dict[str, Any]]]:
    draws = random.Random(11)
    for number in range(1, count + 1):
        yield f"orders/{number}-A", {
            "Company": f"companies/{draws.randrange(1, 1000)}-A", "Employee": f"employees/{draws.randrange(1, 10)}-A",
            "Freight": round(draws.uniform(0, 1000), 2), "ShipCity": draws.choice(CITIES),
            "Lines": [{"Product": f"products/{draws.randrange(1, 78)}-A", "Quantity": draws.randrange(1, 50)}],
            "@metadata": {"@collection": "Orders"}}


@contextmanager
def database(folder: Path, count: int) -> Iterator[DatabaseServices]:
    catalog = DatabaseCatalog(folder / "data", Settings(environ={}))
    try:
        services = catalog.create("Bench")
        services.database.insert_many(orders(count), batch_size=10_000)
        yield services
    finally:
        catalog.close()


def definitions() -> list[tuple[str, IndexDefinition]]:
    auto = AutoMapDefinition("Orders", [AutoIndexField(name, (name,)) for name in FIELDS])
    return [
        ("auto-index (reference)", auto),
        ("LINQ map", StaticIndexDefinition.compile({"Name": "Orders/Linq", "Maps": [LINQ_MAP]})),
        ("JavaScript map", StaticIndexDefinition.compile({"Name": "Orders/Js", "Maps": [JS_MAP]})),
        ("LINQ map-reduce", StaticIndexDefinition.compile({"Name": "Orders/Totals", "Maps": [LINQ_REDUCE_MAP],
                                                           "Reduce": LINQ_REDUCE})),
        ("group by (auto map-reduce)", AutoMapReduceDefinition(
            "Orders", [GroupByField("Company", (("Company", False),))],
            [Aggregation("Count", "Count"), Aggregation("Freight", "Sum", (("Freight", False),))])),
    ]


def index_all(registry: IndexRegistry, services: DatabaseServices, definition: IndexDefinition) -> float:
    """Seconds to index every document from scratch."""
    storage = services.database.storage
    index = registry.create(definition)
    started = time.perf_counter()
    with index.in_use():
        while index.catch_up(storage):
            pass
    elapsed = time.perf_counter() - started
    assert not index.is_stale(storage)
    registry.delete(definition.name)
    if isinstance(definition, StaticIndexDefinition):
        definition.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    arguments = parser.parse_args()
    count = arguments.documents
    with tempfile.TemporaryDirectory(prefix="rookdb-bench-") as scratch, database(Path(scratch), count) as services:
        registry = IndexRegistry.open(Path(scratch) / "bench-indexes", services.database.storage)
        print(f"{count} orders, indexed from scratch by each index in turn\n", flush=True)
        table = Table(["index", "docs/s", "time (s)", "x auto-index", "goal"], [27, 10, 9, 13, 22])
        reference: float | None = None
        for label, definition in definitions():
            elapsed = index_all(registry, services, definition)
            reference = reference if reference is not None else elapsed
            ratio = elapsed / reference
            goal = ""
            if label in ("LINQ map", "JavaScript map"):
                goal = f"<= {GOAL}x: {'met' if ratio <= GOAL else 'NOT met'}"
            table.row(label, f"{count / elapsed:,.0f}", f"{elapsed:.2f}", f"{ratio:.2f}", goal)
        registry.close()


if __name__ == "__main__":
    main()
