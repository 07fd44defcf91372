"""Auto map-reduce definitions: RavenDB's names, the outputs array paths give, the reduce, persistence."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.indexes.auto_map_reduce import (
    Aggregation,
    AutoMapReduceDefinition,
    GroupByField,
    auto_map_reduce_name,
)
from rookdb.indexes.definitions import definition_from_json


def field(name: str, by_content: bool = False) -> GroupByField:
    parts = name.split(".")
    return GroupByField(name, tuple((part.removesuffix("[]"), part.endswith("[]")) for part in parts), by_content)


def summed(name: str) -> Aggregation:
    return Aggregation(name, "Sum", field(name).segments)


COUNT = Aggregation("Count", "Count")


@pytest.mark.parametrize(("collection", "aggregations", "group_by", "expected"), [
    ("Orders", ["Count"], ["Company"], "Auto/Orders/ByCountReducedByCompany"),
    ("Orders", ["Freight", "Count"], ["Employee", "Company"],
     "Auto/Orders/ByCountAndFreightReducedByCompanyAndEmployee"),
    ("Orders", [], ["Company"], "Auto/OrdersReducedByCompany"),
    (None, ["Count"], ["Array(Lines[].Product)"], "Auto/AllDocs/ByCountReducedByArray(Lines[].Product)"),
])
def test_names_follow_ravendb(collection: str | None, aggregations: list[str], group_by: list[str],
                              expected: str) -> None:
    assert auto_map_reduce_name(collection, aggregations, group_by) == expected


ORDER = {"Company": "c1", "Freight": 2.5,
         "Lines": [{"Product": "p1", "Quantity": 1, "Price": 2}, {"Product": "p2", "Quantity": 2, "Price": 3}]}


@pytest.mark.parametrize(("group_by", "aggregations", "expected"), [
    ([field("Company")], [COUNT, summed("Freight")], [{"Company": "c1", "Count": 1, "Freight": 2.5}]),
    ([field("Missing")], [COUNT], [{"Missing": None, "Count": 1}]),
    # each line is its own output; fields walking the same array stay paired
    ([field("Lines[].Product"), field("Lines[].Quantity")], [COUNT],
     [{"Lines[].Product": "p1", "Lines[].Quantity": 1, "Count": 1},
      {"Lines[].Product": "p2", "Lines[].Quantity": 2, "Count": 1}]),
    # a sum over the array grouped by is per element; over the document otherwise
    ([field("Lines[].Product")], [summed("Lines[].Price")],
     [{"Lines[].Product": "p1", "Lines[].Price": 2}, {"Lines[].Product": "p2", "Lines[].Price": 3}]),
    ([field("Company")], [summed("Lines[].Price")], [{"Company": "c1", "Lines[].Price": 5}]),
    ([field("Lines[].Product", by_content=True), field("Company")], [COUNT],
     [{"Lines[].Product": ["p1", "p2"], "Company": "c1", "Count": 1}]),
])
def test_outputs(group_by: list[GroupByField], aggregations: list[Aggregation],
                 expected: list[dict[str, Any]]) -> None:
    assert AutoMapReduceDefinition("Orders", group_by, aggregations).outputs(ORDER) == expected


def test_the_reduce_takes_its_own_results() -> None:
    definition = AutoMapReduceDefinition("Orders", [field("Company")], [COUNT, summed("Freight")])
    outputs = [definition.outputs({"Company": "c1", "Freight": value})[0] for value in (1, 2.5, "x", None)]
    once = definition.reduce.reduce([outputs])[0]
    assert once == [{"Company": "c1", "Count": 4, "Freight": 3.5}]
    assert isinstance(once, list)
    assert definition.reduce.reduce([[*once, *once]])[0] == [{"Company": "c1", "Count": 8, "Freight": 7.0}]
    assert definition.reduce.keys(outputs) == [["c1"]] * 4


def test_definitions_persist_and_extend() -> None:
    definition = AutoMapReduceDefinition("Orders", [field("Company"), field("Lines[].Product", True)], [COUNT])
    assert definition_from_json(definition.to_json()) == definition
    extended = definition.extended([summed("Freight")])
    assert extended.name == "Auto/Orders/ByCountAndFreightReducedByArray(Lines[].Product)AndCompany"
    assert extended.covers([COUNT]) and not definition.covers([summed("Freight")])
    assert extended.same_group_by([field("Lines[].Product", True), field("Company")])
    assert not extended.same_group_by([field("Lines[].Product"), field("Company")])
    assert definition.wire_maps() == (["Orders:[<Name:Count#Operation:Count>]"],
                                      "Orders:[<Name:Company>;<Name:Lines[].Product>]")
