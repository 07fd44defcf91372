"""Auto map-reduce indexes: what dynamic ``group by`` queries are answered from.

``from Orders group by Company select key() as Company, count() as Count, sum(Freight) as Freight``
needs an index whose results are the groups: one result per distinct key, with the group-by fields and
the aggregations (``Count``, and each summed field under its own name). RavenDB names it after its
aggregated fields and its group-by fields, ``Auto/Orders/ByCountAndFreightReducedByCompany``.

Group-by fields are paths. A path through an array (``Lines[].Product``) groups by each element's value
(RavenDB's ``ByIndividualValues``): fields that walk the same array walk it together, element by
element, so ``group by Lines[].Product, Lines[].Quantity`` pairs each line's product with its own
quantity. ``array(Lines[].Product)`` groups by the array's whole content (``ByContent``).

The map turns a document into one output per combination of group values; the reduce sums the
aggregations, so it can be applied to its own results. The map-reduce machinery of static indexes
(``rookdb.indexes.static.reduction``) keeps the results current.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import orjson

from rookdb.indexes.definitions import (
    IndexBatch,
    IndexDefinition,
    IndexEntry,
    StoredField,
    latest_changes,
    register_kind,
)
from rookdb.indexes.static.mapping import IndexReduce, MapFailure
from rookdb.indexes.values import is_number, values_at
from rookdb.storage.base import Change

__all__ = ["AUTO_MAP_REDUCE", "COUNT_FIELD", "Aggregation", "AutoMapReduceDefinition", "GroupByField",
           "auto_map_reduce_name"]

AUTO_MAP_REDUCE = "AutoMapReduce"
COUNT_FIELD = "Count"
"""The result field of ``count()`` (RavenDB's ``QueryFieldName.Count``)."""

Segment = tuple[str, bool]
"""A path segment: the property name, and whether it walks an array (``Lines[]``)."""


def _sort_key(name: str) -> tuple[str, str]:
    return name.lower(), name


@dataclass(frozen=True)
class GroupByField:
    """A ``group by`` path; ``name`` is how it is written (``Lines[].Product``) and keyed in the results."""

    name: str
    segments: tuple[Segment, ...]
    by_content: bool = False

    @property
    def index_name(self) -> str:
        """The name in the index's name: ``Company``, ``Array(Lines[].Product)``."""
        return f"Array({self.name})" if self.by_content else self.name

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Segments": [list(segment) for segment in self.segments],
                "ByContent": self.by_content}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> GroupByField:
        return cls(str(data["Name"]), tuple((str(name), bool(array)) for name, array in data["Segments"]),
                   bool(data["ByContent"]))


@dataclass(frozen=True)
class Aggregation:
    """An aggregated result field: ``Count`` (``count()``) or a summed path (``sum(Freight)``)."""

    name: str
    operation: Literal["Count", "Sum"]
    segments: tuple[Segment, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"Name": self.name, "Operation": self.operation, "Segments": [list(s) for s in self.segments]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Aggregation:
        operation: Literal["Count", "Sum"] = "Count" if data["Operation"] == "Count" else "Sum"
        return cls(str(data["Name"]), operation, tuple((str(name), bool(array)) for name, array in data["Segments"]))


def auto_map_reduce_name(collection: str | None, aggregations: Iterable[str], group_by: Iterable[str]) -> str:
    """RavenDB's name: ``Auto/<collection>/By<aggregated fields>ReducedBy<group-by fields>``, each list
    sorted and joined with ``And`` (``Auto/<collection>ReducedBy...`` without aggregations)."""
    base = f"Auto/{collection or 'AllDocs'}"
    fields = sorted(set(aggregations), key=_sort_key)
    if fields:
        base += "/By" + "And".join(fields)
    return base + "ReducedBy" + "And".join(sorted(set(group_by), key=_sort_key))


class AutoMapReduceDefinition(IndexDefinition):
    """An auto map-reduce index over one collection: its group-by fields and its aggregations."""

    kind: ClassVar[str] = AUTO_MAP_REDUCE

    def __init__(self, collection: str | None, group_by: Sequence[GroupByField],
                 aggregations: Iterable[Aggregation]) -> None:
        merged: dict[str, Aggregation] = {}
        for aggregation in aggregations:
            merged.setdefault(aggregation.name, aggregation)
        self._collection = collection
        self.group_by = tuple(group_by)
        self.aggregations = tuple(sorted(merged.values(), key=lambda item: _sort_key(item.name)))
        self._name = auto_map_reduce_name(collection, [item.name for item in self.aggregations],
                                          [field.index_name for field in self.group_by])
        self.reduce: IndexReduce = _SumReduce(self)
        self._fanned = _fanned_sums(self.group_by, self.aggregations)

    @property
    def name(self) -> str:
        return self._name

    @property
    def collection(self) -> str | None:
        return self._collection

    @property
    def is_map_reduce(self) -> bool:
        return True

    def result_names(self) -> tuple[str, ...]:
        """The fields of every result: the group-by fields, then the aggregations."""
        return (*(field.name for field in self.group_by), *(item.name for item in self.aggregations))

    def stored_fields(self) -> tuple[StoredField, ...]:
        return tuple(StoredField(name, True, False) for name in self.result_names())

    def same_group_by(self, group_by: Sequence[GroupByField]) -> bool:
        """True when the index groups by exactly these fields (in any order)."""
        return set(self.group_by) == set(group_by) and len(self.group_by) == len(group_by)

    def covers(self, aggregations: Iterable[Aggregation]) -> bool:
        """True when every aggregation is computed here."""
        mine = set(self.aggregations)
        return all(item in mine for item in aggregations)

    def extended(self, aggregations: Iterable[Aggregation]) -> AutoMapReduceDefinition:
        """This index with more aggregations (RavenDB extends a map-reduce auto-index's map fields)."""
        return AutoMapReduceDefinition(self._collection, self.group_by, [*self.aggregations, *aggregations])

    # ---- mapping and reducing

    def outputs(self, document: dict[str, Any]) -> list[dict[str, Any]]:
        """The map outputs of one document: one per combination of its group values."""
        walked = [(field.name, field.segments, field.by_content) for field in self.group_by]
        walked += [(item.name, item.segments, False) for item in self.aggregations if item.name in self._fanned]
        rows = _combinations(document, walked)
        whole = {item.name: _sum(values_at(document, [name for name, _ in item.segments]))
                 for item in self.aggregations if item.operation == "Sum" and item.name not in self._fanned}
        outputs = []
        for row in rows:
            output = {field.name: row.get(field.name) for field in self.group_by}
            for item in self.aggregations:
                if item.operation == "Count":
                    output[item.name] = 1
                elif item.name in self._fanned:
                    value = row.get(item.name)
                    output[item.name] = _sum(value if isinstance(value, list) else [value])
                else:
                    output[item.name] = whole[item.name]
            outputs.append(output)
        return outputs

    def entries(self, outputs: Sequence[dict[str, Any]]) -> tuple[list[IndexEntry], dict[str, Any]]:
        """Index entries of reduce results (every field kept for the answer)."""
        entries: list[IndexEntry] = [{name: [value] for name, value in output.items()} for output in outputs]
        return entries, dict(outputs[0]) if outputs else {}

    def map(self, document: dict[str, Any]) -> list[IndexEntry]:
        return self.entries(self.outputs(document))[0]

    def schema(self) -> str:
        from rookdb.indexes.static.reduction import SCHEMA

        return SCHEMA

    def index_changes(self, changes: Sequence[Change], batch: IndexBatch) -> None:
        from rookdb.indexes.static.indexing import DocumentToMap
        from rookdb.indexes.static.reduction import reduce_changes

        gone: list[str] = []
        documents: list[DocumentToMap] = []
        outputs: dict[str, list[dict[str, Any]]] = {}
        for lower, change in latest_changes(changes).items():
            if change.document is None:
                gone.append(change.id)
                continue
            body = orjson.loads(change.document.body)
            documents.append(DocumentToMap(change.etag, change.id, change.collection, body))
            outputs[lower] = self.outputs(body)
        batch.mapped(len(documents))
        reduce_changes(self, batch, gone, documents, outputs)

    # ---- persistence

    def to_json(self) -> dict[str, Any]:
        return {"Kind": self.kind, "Name": self._name, "Collection": self._collection,
                "GroupBy": [field.to_json() for field in self.group_by],
                "Aggregations": [item.to_json() for item in self.aggregations]}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AutoMapReduceDefinition:
        collection = data["Collection"]
        return cls(None if collection is None else str(collection),
                   [GroupByField.from_json(field) for field in data["GroupBy"]],
                   [Aggregation.from_json(item) for item in data["Aggregations"]])

    def wire_maps(self) -> tuple[list[str], str]:
        """``Maps`` and ``Reduce`` as RavenDB lists an auto map-reduce index's."""
        collection = self._collection or "@all_docs"
        maps = ";".join(f"<Name:{item.name}#Operation:{item.operation}>" for item in self.aggregations)
        reduce = ";".join(f"<Name:{field.name}>" for field in self.group_by)
        return [f"{collection}:[{maps}]"], f"{collection}:[{reduce}]"


class _SumReduce(IndexReduce):
    """Groups outputs by their group-by values and adds up their aggregations (it takes its own results)."""

    reapplies = True

    def __init__(self, definition: AutoMapReduceDefinition) -> None:
        self._group = [field.name for field in definition.group_by]
        self._summed = [item.name for item in definition.aggregations]
        self.field_names = definition.result_names()

    def keys(self, outputs: Sequence[dict[str, Any]]) -> list[Any | MapFailure]:
        return [[output.get(name) for name in self._group] for output in outputs]

    def reduce(self, groups: Sequence[Sequence[dict[str, Any]]]) -> list[list[dict[str, Any]] | MapFailure]:
        reduced: list[list[dict[str, Any]] | MapFailure] = []
        for group in groups:
            if not group:
                reduced.append([])
                continue
            result = {name: group[0].get(name) for name in self._group}
            for name in self._summed:
                result[name] = _sum(output.get(name) for output in group)
            reduced.append([result])
        return reduced


def _sum(values: Iterable[Any]) -> int | float:
    """The sum of the numbers among ``values`` (others count as nothing, as a missing value does)."""
    total: int | float = 0
    for value in values:
        if is_number(value):
            total += value
    return total


def _fanned_sums(group_by: Sequence[GroupByField], aggregations: Sequence[Aggregation]) -> frozenset[str]:
    """Summed paths that walk an array a group-by field walks element by element: they are summed per
    element, alongside that element's group value; other sums take the whole document's values."""
    walked = {_array_prefix(field.segments) for field in group_by if not field.by_content}
    walked.discard(None)
    return frozenset(item.name for item in aggregations
                     if item.operation == "Sum" and _array_prefix(item.segments) in walked)


def _array_prefix(segments: tuple[Segment, ...]) -> tuple[str, ...] | None:
    for position, (_, array) in enumerate(segments):
        if array:
            return tuple(name for name, _ in segments[: position + 1])
    return None


_Walked = tuple[str, tuple[Segment, ...], bool]


def _combinations(value: Any, fields: Sequence[_Walked]) -> list[dict[str, Any]]:
    """Every combination of the fields' values in ``value``: fields that walk the same array take their
    values from the same element; different arrays combine with each other."""
    row: dict[str, Any] = {}
    by_array: dict[tuple[str, ...], list[_Walked]] = {}
    for name, segments, whole in fields:
        position = next((i for i, (_, array) in enumerate(segments) if array), None)
        if whole or position is None:
            reached = values_at(value, [segment for segment, _ in segments], flatten=whole)
            row[name] = reached if whole else (reached[0] if reached else None)
            continue
        container = tuple(segment for segment, _ in segments[: position + 1])
        by_array.setdefault(container, []).append((name, segments[position + 1 :], False))
    rows = [row]
    for container, members in by_array.items():
        reached = values_at(value, container, flatten=False)
        found = reached[0] if reached else None
        elements = found if isinstance(found, list) else ([] if found is None else [found])
        combined = [each for element in elements for each in _combinations(element, members)]
        if not combined:
            combined = [dict.fromkeys((name for name, _, _ in members), None)]
        rows = [{**left, **right} for left in rows for right in combined]
    return rows


register_kind(AUTO_MAP_REDUCE, AutoMapReduceDefinition.from_json)
