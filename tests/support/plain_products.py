"""Products whose fields mix every JSON type, and the plain queries run over them (``rookdb.query.plain``)."""

from __future__ import annotations

from typing import Any

from rookdb.storage.base import DocumentStorage

ROWS: list[dict[str, Any]] = [{"Name": "Chai", "Price": 18.0, "Tags": ["tea", "hot"], "Code": "12"},
        {"Name": "chang", "Price": 19, "Tags": ["beer"], "Code": 12},
        {"Name": "Aniseed Syrup", "Price": 10.5, "Tags": [], "Code": None},
        {"Name": "Tofu", "Price": None, "Tags": ["soy"], "Code": "true"},
        {"Name": "Konbu", "Tags": ["soy", "kelp"], "Code": True},
        {"Name": "Ikura", "Price": "31", "Code": "x12"}]
ROWS += [{"Name": f"Item {n}", "Price": n % 37 + 0.25, "Tags": [f"t{n % 5}"], "Code": n} for n in range(300)]

PLAIN = [
    ("from Products where Name = $n", {"n": "CHAI"}),
    ("from Products where Code = $c", {"c": "12"}),
    ("from Products where Code = $c", {"c": 12}),
    ("from Products where Code = $c", {"c": None}),
    ("from Products where Code = $c", {"c": "true"}),
    ("from Products where Code in ($c)", {"c": ["12", True, "x12"]}),
    ("from Products where Tags all in ($t)", {"t": ["soy", "kelp"]}),
    ("from Products where Price between $lo and $hi", {"lo": 10, "hi": 19}),
    ("from Products where Price >= $lo", {"lo": "30"}),
    ("from Products where Name > $n", {"n": "item 3"}),
    ("from Products where exact(Name = $n)", {"n": "chang"}),
    ("from Products where startsWith(Name, $p) or Price < $lo", {"p": "item 2", "lo": 1}),
    ("from Products where not Name = $n and Price > $lo", {"n": "chai", "lo": 15}),
    ("from Products where Price > $lo order by Price as double desc limit 10", {"lo": 5}),
    ("from Products order by Price as double desc limit 10", {}),
    ("from Products order by Name limit 7, 5", {}),
    ("from Products where Tags = $t order by Name desc", {"t": "t3"}),
    ("from Products where Price < $hi limit $take offset $skip", {"hi": 20, "take": 4, "skip": 3}),
]


def write_products(storage: DocumentStorage) -> None:
    """``ROWS`` as ``products/{n}`` in the Products collection."""
    with storage.write() as tx:
        tx.put_many([(f"products/{n}", "Products", {**row, "@metadata": {"@collection": "Products"}})
                     for n, row in enumerate(ROWS)], {})
