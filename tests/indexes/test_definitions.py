"""Index definitions: RavenDB's auto-index names, merging, maps, and the persisted form."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from rookdb.indexes.definitions import (
    AutoIndexField,
    AutoMapDefinition,
    FieldIndexing,
    IndexDefinition,
    IndexEntry,
    StoredField,
    auto_index_name,
    definition_from_json,
    register_kind,
)

D, S, E = FieldIndexing.DEFAULT, FieldIndexing.SEARCH, FieldIndexing.EXACT


def field(name: str, *uses: FieldIndexing) -> AutoIndexField:
    return AutoIndexField(name, tuple(part.rstrip("[]") for part in name.split(".")), frozenset(uses or {D}))


@pytest.mark.parametrize(("collection", "names", "expected"), [
    ("Products", ["PricePerUnit", "Name"], "Auto/Products/ByNameAndPricePerUnit"),
    ("Products", ["name", "Name", "Search(Name)"], "Auto/Products/ByNameAndnameAndSearch(Name)"),
    (None, ["Name"], "Auto/AllDocs/ByName"),
    ("Products", [], "Auto/Products/ById()"),
    ("Products", ["Vector.search(embedding.text(Name))", "PricePerUnit"],
     "Auto/Products/ByPricePerUnitAndVector.search(embedding.text(Name))"),
])
def test_auto_index_names(collection: str | None, names: list[str], expected: str) -> None:
    assert auto_index_name(collection, names) == expected


def test_a_field_names_each_use() -> None:
    assert field("Name", D, S, E).names() == ["Name", "Search(Name)", "Exact(Name)"]
    assert field("Lines[].ProductName", S).names() == ["Search(Lines[].ProductName)"]


def test_definitions_merge_uses_and_cover_what_they_hold() -> None:
    definition = AutoMapDefinition("Orders", [field("Company"), field("Company", S), field("Freight")])
    assert definition.name == "Auto/Orders/ByCompanyAndFreightAndSearch(Company)"
    assert definition.covers([field("Company", S)]) and definition.covers([field("Freight")])
    assert not definition.covers([field("Company", E)]) and not definition.covers([field("Employee")])
    wider = definition.extended([field("Employee"), field("Company", E)])
    assert wider.name == "Auto/Orders/ByCompanyAndEmployeeAndExact(Company)AndFreightAndSearch(Company)"
    assert wider.covers(definition.fields)
    assert [(f.name, f.terms, f.search) for f in wider.stored_fields()] == [
        ("Company", True, True), ("Employee", True, False), ("Freight", True, False)]


def test_search_only_fields_keep_no_terms() -> None:
    assert AutoMapDefinition("P", [field("Name", S)]).stored_fields() == (StoredField("Name", False, True),)


def test_the_map_keeps_what_each_path_reaches() -> None:
    definition = AutoMapDefinition("Orders", [field("Company"), field("Lines[].Product"), field("Nope"),
                                              field("ShipTo.City")])
    document = {"Company": None, "Lines": [{"Product": "p/1"}, {"Product": ["p/2", "p/3"]}], "ShipTo": {"City": "R"}}
    assert definition.map(document) == [{"Company": [None], "Lines[].Product": ["p/1", ["p/2", "p/3"]],
                                         "ShipTo.City": ["R"]}]


def test_the_persisted_form_reads_back() -> None:
    definition = AutoMapDefinition(None, [field("Name", D, E), field("Tags")], extra_names=["Vector.search(Raw)"])
    again = definition_from_json(definition.to_json())
    assert again == definition and again.name == "Auto/AllDocs/ByExact(Name)AndNameAndTagsAndVector.search(Raw)"


@pytest.mark.parametrize("data", [{"Kind": "Nope"}, {"Kind": "AutoMap", "Name": "x"}, {}])
def test_unknown_or_broken_definitions_are_value_errors(data: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        definition_from_json(data)


class _Fixed(IndexDefinition):
    """A definition kind of its own, as static indexes will add."""

    kind = "TestFixed"

    @property
    def name(self) -> str:
        return "Fixed"

    @property
    def collection(self) -> str | None:
        return None

    def stored_fields(self) -> tuple[StoredField, ...]:
        return (StoredField("Out", True, False),)

    def map(self, document: dict[str, Any]) -> list[IndexEntry]:
        return [{"Out": [1]}]

    def to_json(self) -> dict[str, Any]:
        return {"Kind": self.kind}


def _load_fixed(data: Mapping[str, Any]) -> IndexDefinition:
    return _Fixed()


def test_other_kinds_register_their_loader() -> None:
    register_kind(_Fixed.kind, _load_fixed)
    assert isinstance(definition_from_json({"Kind": "TestFixed"}), _Fixed)
