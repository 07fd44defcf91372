"""Compiled LINQ maps and reduces: what they produce for documents, and what they refuse to compile."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import IndexCompilationError
from rookdb.indexes.linq.compiler import compile_map, compile_reduce
from rookdb.indexes.static.mapping import MISSING, CreatedField, MapFailure, VectorInput, settle_missing


class Related:
    """A scope over a fixed set of related documents that records what each mapped document loaded."""

    def __init__(self, documents: dict[str, dict[str, Any]]) -> None:
        self.documents = documents
        self.position = -1
        self.loads: list[tuple[int, str, str | None]] = []

    def start(self, position: int) -> None:
        self.position = position

    def load(self, doc_id: str, collection: str | None) -> dict[str, Any] | None:
        self.loads.append((self.position, doc_id, collection))
        return self.documents.get(doc_id)


ORDER = {
    "Company": "companies/1", "OrderedAt": "1998-05-06T10:00:00.0000000", "ShippedAt": "1998-05-08T12:00:00.0000000",
    "Freight": 32.5, "Lines": [
        {"Product": "products/1", "Quantity": 3, "PricePerUnit": 2.5, "Discount": 0.1},
        {"Product": "products/2", "Quantity": 1, "PricePerUnit": 4, "Discount": 0},
    ],
    "@metadata": {"@id": "orders/1", "@collection": "Orders"},
}


def outputs(text: str, document: dict[str, Any] = ORDER, related: dict[str, dict[str, Any]] | None = None,
            ) -> list[dict[str, Any]]:
    (result,) = compile_map(text).run([document], Related(related or {}))
    assert not isinstance(result, MapFailure), result
    return result


MAPS: list[tuple[str, list[dict[str, Any]]]] = [
    ("from o in docs.Orders select new { o.Company, o.Freight }", [{"Company": "companies/1", "Freight": 32.5}]),
    ("docs.Orders.Select(o => new { Lines = o.Lines.Count(), "
     "Total = o.Lines.Sum(l => l.Quantity * l.PricePerUnit) })",
     [{"Lines": 2, "Total": 11.5}]),
    ("from o in docs.Orders from l in o.Lines where l.Discount > 0 select new { l.Product }",
     [{"Product": "products/1"}]),
    ("docs.Orders.SelectMany(o => o.Lines, (o, l) => new { o.Company, l.Quantity })",
     [{"Company": "companies/1", "Quantity": 3}, {"Company": "companies/1", "Quantity": 1}]),
    ("docs.Orders.SelectMany(o => o.Lines.Select(l => new { l.Product }))",
     [{"Product": "products/1"}, {"Product": "products/2"}]),
    ("from o in docs.Orders let n = o.Lines.Count select new { Many = n > 1 ? \"yes\" : \"no\" }", [{"Many": "yes"}]),
    ("from o in docs.Orders select new { Year = o.OrderedAt.Year, Day = o.OrderedAt.DayOfWeek }",
     [{"Year": 1998, "Day": "Wednesday"}]),
    ("from o in docs.Orders select new { Took = o.ShippedAt - (DateTime)o.OrderedAt }", [{"Took": "2.02:00:00"}]),
    ("from o in docs.Orders select new { Id = Id(o), Coll = MetadataFor(o)[\"@collection\"], Same = o.Id }",
     [{"Id": "orders/1", "Coll": "Orders", "Same": "orders/1"}]),
    ("from o in docs.Orders select new { A = o.Missing.Deeper, B = o.Missing?.Deeper ?? \"none\", "
     "C = o.Missing.ToLower(), D = o.Missing.Sum(x => x.Q), E = o.Missing == null }",
     [{"A": MISSING, "B": "none", "C": None, "D": 0, "E": True}]),
    ("from o in docs.Orders select new { Half = (int)o.Freight / 2, Rest = 7 % 3, Neg = -7 / 2, F = 7.0 / 2 }",
     [{"Half": 16, "Rest": 1, "Neg": -3, "F": 3.5}]),
    ("from o in docs.Orders select new { S = \"n\" + o.Lines.Count + true, T = o.Company.Substring(10).ToUpper() }",
     [{"S": "n2True", "T": "1"}]),
    ("from o in docs.Orders select new { P = string.Join(\",\", o.Lines.Select(l => l.Product).ToArray()), "
     "M = Math.Max(1, 3), R = Math.Round(2.567, 2), Z = o.Company.Split('/')[1] }",
     [{"P": "products/1,products/2", "M": 3, "R": 2.57, "Z": "1"}]),
    ("from o in docs.Orders select new { First = o.Lines.First().Product, "
     "Sorted = o.Lines.OrderByDescending(l => l.Quantity).Select(l => l.Quantity).ToList(), "
     "Any = o.Lines.Any(l => l.Discount > 0), All = o.Lines.All(l => l.Quantity > 0), "
     "Max = o.Lines.Max(l => l.PricePerUnit), Avg = o.Lines.Average(l => l.Quantity) }",
     [{"First": "products/1", "Sorted": [3, 1], "Any": True, "All": True, "Max": 4, "Avg": 2.0}]),
    ("from o in docs.Orders select new { Tags = new[] { o.Company, \"x\" }, Is = o.Freight is null }",
     [{"Tags": ["companies/1", "x"], "Is": False}]),
    ("from o in docs.Orders select new { N = typeof(System.Xml.XmlNode).Name, F = typeof(System.Xml.XmlNode).FullName, "
     "S = typeof(Guid).Namespace, T = typeof(System.Xml.XmlNode) }",
     [{"N": "XmlNode", "F": "System.Xml.XmlNode", "S": None, "T": "System.Xml.XmlNode"}]),
]


@pytest.mark.parametrize(("text", "expected"), MAPS, ids=[text[:60] for text, _ in MAPS])
def test_maps_produce_their_outputs(text: str, expected: list[dict[str, Any]]) -> None:
    assert outputs(text) == expected


@pytest.mark.parametrize("text", [
    "from c in docs.Companies select new { c.Name, c.Address.City, Zip = c.Address.Zip, c.Fax, c.Phone }",
    "docs.Companies.Where(c => c.Phone != null).Select(c => new { c.Name, c.Address.City, Zip = c.Address.Zip, "
    "c.Fax, c.Phone })",
])
def test_a_missing_property_is_told_from_an_explicit_null(text: str) -> None:
    company = {"Name": None, "Address": {"City": None}, "Phone": "1", "@metadata": {"@collection": "Companies"}}
    produced = outputs(text, company)
    assert produced == [{"Name": None, "City": None, "Zip": MISSING, "Fax": MISSING, "Phone": "1"}]
    assert settle_missing([dict(produced[0])], as_null=False) == [{"Name": None, "City": None, "Phone": "1"}]
    assert settle_missing([dict(produced[0])], as_null=True) == [
        {"Name": None, "City": None, "Zip": None, "Fax": None, "Phone": "1"}]


def test_computed_and_fanned_out_fields_stay_null() -> None:
    lines = "from o in docs.Orders from l in o.Lines select new { l.Missing, Up = o.Missing.ToUpper() }"
    assert outputs(lines) == [{"Missing": None, "Up": None}, {"Missing": None, "Up": None}]


def test_related_documents_are_loaded_and_each_load_is_attributed() -> None:
    compiled = compile_map("from o in docs.Orders let c = LoadDocument(o.Company, \"Companies\") "
                           "select new { c.Name, Names = LoadDocument(o.Lines.Select(l => l.Product), \"Products\")"
                           ".Select(p => p.Name) }")
    assert compiled.collection == "Orders" and compiled.references == frozenset({"Companies", "Products"})
    related = Related({"companies/1": {"Name": "Alfreds"}, "products/1": {"Name": "Chai"}})
    other = {**ORDER, "Company": "companies/9", "Lines": []}
    results = compiled.run([ORDER, other], related)
    assert results == [[{"Name": "Alfreds", "Names": ["Chai", None]}], [{"Name": None, "Names": []}]]
    assert related.loads == [(0, "companies/1", "Companies"), (0, "products/1", "Products"),
                             (0, "products/2", "Products"), (1, "companies/9", "Companies")]


def test_load_document_without_a_collection_may_load_from_any() -> None:
    assert compile_map("from o in docs.Orders select new { LoadDocument(o.Company).Name }").references is None


def test_created_fields_and_vectors_are_values_of_their_own() -> None:
    produced = outputs("from o in docs.Orders select new { "
                       "_ = o.Lines.Select(l => CreateField(l.Product, l.Quantity)), "
                       "__ = CreateField(\"Freight\", o.Freight, true, true), V = CreateVector(o.Company), "
                       "W = LoadVector(\"Name\", \"my-task\") }")
    assert produced == [{
        "_": [CreatedField("products/1", 3), CreatedField("products/2", 1)],
        "__": CreatedField("Freight", 32.5, {"Storage": "Yes", "Indexing": "Search"}),
        "V": VectorInput("companies/1"), "W": VectorInput("Name", "my-task", "orders/1")}]
    assert compile_map("from c in docs.Categories select new { V = LoadVector(\"Name\", \"t\") }").references == \
        frozenset({"@embeddings/Categories"})


def test_a_failing_document_fails_alone() -> None:
    compiled = compile_map("from o in docs.Orders select new { Lower = o.Company.ToLower() }")
    results = compiled.run([{"Company": 5}, {"Company": "A"}], Related({}))
    assert isinstance(results[0], MapFailure) and "ToLower" in str(results[0])
    assert results[1] == [{"Lower": "a"}]


def test_output_names_and_collection_come_from_the_map() -> None:
    assert compile_map("from p in docs.Products select new { p.Name, Price = p.PricePerUnit }").field_names == (
        "Name", "Price")
    assert compile_map("docs.Products.Select(p => new { p.Name })").field_names == ("Name",)
    everything = compile_map("from d in docs select new { Tag = d[\"@metadata\"][\"@collection\"] }")
    assert everything.collection is None and everything.field_names == ("Tag",)
    assert compile_map("from p in docs[\"Order Lines\"] select new { p.A }").collection == "Order Lines"


REDUCE = ("from r in results group r by new { r.Company, r.Year } into g "
          "select new { g.Key.Company, g.Key.Year, Count = g.Sum(x => x.Count), Freight = g.Sum(x => x.Freight) }")


def test_reduces_group_by_their_key_and_aggregate() -> None:
    compiled = compile_reduce(REDUCE)
    rows = [{"Company": "a", "Year": 1, "Count": 1, "Freight": 2.0}, {"Company": "a", "Year": 1, "Count": 2,
                                                                        "Freight": 1.5},
            {"Company": "b", "Year": 1, "Count": 1, "Freight": 1.0}]
    assert compiled.field_names == ("Company", "Year", "Count", "Freight")
    assert compiled.keys(rows) == [{"Company": "a", "Year": 1}, {"Company": "a", "Year": 1},
                                   {"Company": "b", "Year": 1}]
    assert compiled.reduce([rows[:2], rows[2:]]) == [[{"Company": "a", "Year": 1, "Count": 3, "Freight": 3.5}],
                                                      [{"Company": "b", "Year": 1, "Count": 1, "Freight": 1.0}]]
    method = compile_reduce("results.GroupBy(r => r.Company)"
                            ".Select(g => new { Company = g.Key, Count = g.Count() })")
    assert method.keys(rows) == ["a", "a", "b"]
    assert method.reduce([rows]) == [[{"Company": "a", "Count": 2}, {"Company": "b", "Count": 1}]]


REFUSED = [
    ("from e in docs.E select new { c = CreateSpatialField(e.Lat, e.Lng) }", "Maps", "'CreateSpatialField' cannot"),
    ("from e in docs.E select new { c = e.Name.Foo() }", "Maps", "method 'Foo' is not supported (line 1, column 42)"),
    ("from e in docs.E select new { c = Math.Foo(1) }", "Maps", "'Math.Foo()' is not supported"),
    ("from e in docs.E select new { c = DateTime.Now }", "Maps", "'DateTime.Now' is not supported"),
    ("from e in docs.E from f in docs.F select new { e.A }", "Maps", "one collection"),
    ("from e in docs.E select new { c = x.A }", "Maps",
     "The name 'x' does not exist in the current context (line 1, column 35)"),
    ("from e in docs.E orderby e.A select new { e.A }", "Maps", "'orderby' is not supported"),
    ("from e in docs.E select new { c = e.Name.Substring() }", "Maps", "'Substring' takes 1 to 2 arguments"),
    ("from e in docs.E select new { c = new Foo { A = 1 } }", "Maps", "Creating a 'Foo'"),
    ("new { A = 1 }", "Maps", "A map must read documents"),
    ("from e in docs.E select new { T = typeof(e.A()) }", "Maps", "typeof takes a type name"),
    ("from e in docs.E select new { c = LoadDocument(e.A, e.B) }", "Maps", "collection must be a string literal"),
    ("from r in results select new { r.A }", "Reduce", "A reduce must group the results"),
    ("from r in results group r by r.A into g select new { A = LoadDocument(g.Key, \"X\") }", "Reduce",
     "LoadDocument cannot be used in a reduce"),
]


@pytest.mark.parametrize(("text", "kind", "message"), REFUSED, ids=[text[:50] for text, _, _ in REFUSED])
def test_constructs_outside_the_subset_are_refused_at_definition_time(text: str, kind: str, message: str) -> None:
    with pytest.raises(IndexCompilationError) as raised:
        compile_map(text) if kind == "Maps" else compile_reduce(text)
    assert message in raised.value.message
    assert raised.value.definition_property == kind
