"""Static definitions: the client's JSON checked, typed as RavenDB types it, compiled and compared."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.errors import BadRequestError, IndexCompilationError
from rookdb.indexes.definitions import StoredField, definition_from_json
from rookdb.indexes.static.definition import StaticIndexDefinition, detect_type, normalize_definition

MAP = "from p in docs.Products select new { p.Name, p.PricePerUnit }"


def wire(**changes: Any) -> dict[str, Any]:
    return {"Name": "Products/ByName", "Maps": [MAP], "Fields": {}, **changes}


@pytest.mark.parametrize(("maps", "reduce", "declared", "expected"), [
    ([MAP], None, None, "Map"),
    (["  // leading comment\n docs.Products.Select(p => new { p.Name })"], "", None, "Map"),
    ([MAP], "from r in results group r by r.Name into g select new { Name = g.Key }", None, "MapReduce"),
    (["map('Products', p => ({ Name: p.Name }))"], None, "JavaScriptMap", "JavaScriptMap"),
    (["map('Products', p => ({ Name: p.Name }))"], "groupBy(x => x.Name).aggregate(g => ({}))", None,
     "JavaScriptMapReduce"),
])
def test_type_is_detected_from_the_maps(maps: list[str], reduce: str | None, declared: str | None,
                                        expected: str) -> None:
    assert detect_type(maps, reduce, declared) == expected


def test_normalized_definition_is_what_get_indexes_shows() -> None:
    normalized = normalize_definition(wire(Name="  Spaced  ", Priority="high", Fields={"Name": {"Indexing": "Search"}}))
    assert normalized["Name"] == "Spaced" and normalized["Priority"] == "High" and normalized["Type"] == "Map"
    assert normalized["Fields"]["Name"]["Indexing"] == "Search" and normalized["Reduce"] is None
    assert normalized["LockMode"] == "Unlock" and normalized["State"] == "Normal"


@pytest.mark.parametrize(("changes", "error", "message"), [
    ({"Name": ""}, BadRequestError, "must have a name"),
    ({"Name": "Auto/Mine"}, BadRequestError, "must not start with 'Auto/'"),
    ({"Maps": []}, BadRequestError, "'Maps'"),
    ({"Maps": [MAP, "map('Products', p => p)"]}, IndexCompilationError, "mix C# and JavaScript"),
    ({"OutputReduceToCollection": "Totals"}, BadRequestError, "OutputReduceToCollection is not supported"),
    ({"AdditionalSources": {"Helper": "public static class X {}"}}, IndexCompilationError, "without a C# compiler"),
    ({"IndexSourceType": "Counters"}, BadRequestError, "only documents"),
    ({"Priority": "Urgent"}, BadRequestError, "'Urgent' is not one of"),
])
def test_bad_definitions_are_refused(changes: dict[str, Any], error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        StaticIndexDefinition.compile(wire(**changes))


def test_compilation_errors_name_the_index() -> None:
    with pytest.raises(IndexCompilationError, match=r"Failed to compile index Products/ByName: .*Nope"):
        StaticIndexDefinition.compile(wire(Maps=["from p in docs.Products select new { A = p.Nope() }"]))


def test_map_and_reduce_must_produce_the_same_fields() -> None:
    with pytest.raises(IndexCompilationError, match=r"identical types.*missing Count"):
        StaticIndexDefinition.compile(wire(Reduce="from r in results group r by r.Name into g "
                                                  "select new { Name = g.Key, Count = g.Sum(x => x.Count) }",
                                           Maps=["from p in docs.Products select new { p.Name }"]))


def test_fields_collections_and_entries() -> None:
    definition = StaticIndexDefinition.compile(wire(
        Maps=[MAP, "from c in docs.Categories let p = LoadDocument(c.Top, \"Products\") select new { c.Name }"],
        Fields={"Name": {"Indexing": "Search", "Storage": "Yes"}, "__all_fields": {"Indexing": "Exact"}}))
    assert definition.type_name == "Map" and definition.collection is None
    assert definition.collections() == ("Products", "Categories", "Products")
    assert definition.stored_fields() == (StoredField("Name", True, True), StoredField("PricePerUnit", True, False))
    assert definition.is_exact("PricePerUnit") and not definition.is_exact("Name")
    entries, stored = definition.entries([{"Name": "Chai", "PricePerUnit": 18}])
    assert entries == [{"Name": ["Chai"], "PricePerUnit": [18]}] and stored == {"Name": "Chai"}
    assert [compiled.collection for compiled in definition.maps_for("products")] == ["Products"]


def test_created_fields_take_their_own_options() -> None:
    definition = StaticIndexDefinition.compile(wire(
        Maps=["from p in docs.Products select new { _ = CreateField(p.Key, p.Value, true, false) }"]))
    entries, stored = definition.entries(definition.maps[0].run(
        [{"Key": "Color", "Value": "Red"}], _Nothing())[0])  # type: ignore[arg-type]
    assert entries == [{"Color": ["Red"]}] and stored == {"Color": "Red"}
    assert definition.field_for("Color") == StoredField("Color", True, False)
    assert definition.is_exact("Color")


def test_persisted_json_compiles_back_and_same_entries_ignore_metadata() -> None:
    definition = StaticIndexDefinition.compile(wire())
    reopened = definition_from_json(definition.to_json())
    assert reopened == definition
    assert definition.same_entries(StaticIndexDefinition.compile(wire(LockMode="LockedIgnore", Priority="Low")))
    assert not definition.same_entries(StaticIndexDefinition.compile(wire(Fields={"Name": {"Storage": "Yes"}})))
    assert not definition.differs_from(normalize_definition(wire(State="Disabled")))
    assert definition.differs_from(normalize_definition(wire(Priority="High")))


class _Nothing:
    def start(self, position: int) -> None:
        pass

    def load(self, doc_id: str, collection: str | None) -> None:
        return None
