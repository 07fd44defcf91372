"""Answering facet queries (``select facet(...)``) from the index the query runs on, as RavenDB does.

Each facet becomes one result, ``{Name, Values, RemainingTerms, RemainingTermsCount, RemainingHits}``:

* by field: one value per term the matching documents hold at the field (strings lower-cased as the
  index keeps them, numbers and booleans as spelled, ``NULL_VALUE`` and ``EMPTY_STRING``), counted per
  document, ordered and paged by the facet's options (``TermSortMode``, ``Start``, ``PageSize``,
  ``IncludeRemainingTerms``);
* by ranges: one value per range, in the order given, even when nothing falls in it; numbers compare
  with numbers, anything else as text;
* with no field and no ranges: one value, ``@AllResults``, over every match.

Aggregations add ``Sum``/``Min``/``Max``/``Average`` over another field's numeric value (0 when the
document has none, as RavenDB's field cache reads it), one value per aggregated field and display name.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rookdb.errors import InvalidQueryError
from rookdb.indexes import plan
from rookdb.indexes.reader import IndexReader
from rookdb.indexes.values import is_number
from rookdb.query import ast
from rookdb.query.bindings import Bindings
from rookdb.query.deadline import NO_DEADLINE, Deadline
from rookdb.query.parser import parse_query
from rookdb.query.planner import Planner
from rookdb.query.vector_clauses import DocumentSource

__all__ = ["ALL_RESULTS", "EMPTY_STRING", "NULL_VALUE", "SETUP_OPTIONS_PARAMETER", "facet_results",
           "matching_documents", "with_setups"]

ALL_RESULTS = "@AllResults"
NULL_VALUE = "NULL_VALUE"
EMPTY_STRING = "EMPTY_STRING"
_MAX_PAGE = 2**31 - 1
_SORT_MODES = ("ValueAsc", "ValueDesc", "CountAsc", "CountDesc")
_OPERATIONS = {"Sum": "sum", "Min": "min", "Max": "max", "Average": "avg"}
_RANGE_OPS = ("<", "<=", ">", ">=")

SETUP_OPTIONS_PARAMETER = "rookdb.facet-options/"
"""Prefix of the parameters holding the options of facets taken from a setup document: no RQL
``$param`` can name one."""


@dataclass(frozen=True)
class _Options:
    start: int = 0
    page_size: int = _MAX_PAGE
    sort: str = "ValueAsc"
    include_remaining: bool = False


@dataclass
class _Range:
    text: str
    low: Any = None
    low_inclusive: bool = False
    high: Any = None
    high_inclusive: bool = False

    def matches(self, value: float | str) -> bool:
        """True when ``value`` (a number, or lower-cased text) falls in the range; a number never
        falls in a range of text bounds, nor text in a range of numbers."""
        if self.low is not None:
            if is_number(self.low) != is_number(value):
                return False
            if value < self.low or (value == self.low and not self.low_inclusive):
                return False
        if self.high is not None:
            if is_number(self.high) != is_number(value):
                return False
            if value > self.high or (value == self.high and not self.high_inclusive):
                return False
        return True


@dataclass(frozen=True)
class _Spec:
    """One facet, resolved: its result name, its field or ranges, its aggregations and options."""

    name: str
    field: str | None
    ranges: tuple[_Range, ...]
    aggregations: tuple[tuple[str, str, frozenset[str]], ...]  # (index field, value name, operations)
    options: _Options


def with_setups(query: ast.Query, parameters: Mapping[str, Any], source: DocumentSource
                ) -> tuple[ast.Query, Mapping[str, Any]]:
    """``query`` with each ``facet(id('facets/x'))`` replaced by the facets its FacetSetup document
    holds, and the parameters with the options those facets carry (under names no RQL can write)."""
    if not any(facet.setup is not None for facet in query.facets):
        return query, parameters
    facets: list[ast.Facet] = []
    added: dict[str, Any] = {}
    for facet in query.facets:
        if facet.setup is None:
            facets.append(facet)
            continue
        doc_id = facet.setup.value if isinstance(facet.setup, ast.Literal) else parameters.get(facet.setup.name)
        if not isinstance(doc_id, str):
            raise InvalidQueryError("facet(id(...)) needs the setup document's id as a string", query=query.to_rql())
        facets.extend(_setup_facets(doc_id, source, query, added))
    return dataclasses.replace(query, facets=tuple(facets)), {**parameters, **added}


def _setup_facets(doc_id: str, source: DocumentSource, query: ast.Query, added: dict[str, Any]) -> list[ast.Facet]:
    document = source.get_document(doc_id)
    if document is None:
        raise InvalidQueryError(f"Facet setup document '{doc_id}' does not exist", query=query.to_rql())
    facets: list[ast.Facet] = []
    for kind in ("Facets", "RangeFacets"):
        for entry in document.get(kind) or ():
            if not isinstance(entry, dict):
                raise InvalidQueryError(f"Facet setup document '{doc_id}' has a facet that is not an object")
            options = None
            if isinstance(entry.get("Options"), dict):
                options = ast.Parameter(f"{SETUP_OPTIONS_PARAMETER}{len(added)}")
                added[options.name] = entry["Options"]
            facets.append(ast.Facet(
                field=_path(entry.get("FieldName")) if kind == "Facets" else None,
                ranges=tuple(_range_expression(text, doc_id) for text in entry.get("Ranges") or ()),
                aggregations=_setup_aggregations(entry.get("Aggregations"), doc_id),
                options=options, alias=entry.get("DisplayFieldName")))
    return facets


def _path(name: Any) -> ast.FieldPath | None:
    if name is None:
        return None
    if not isinstance(name, str) or not name:
        raise InvalidQueryError(f"A facet's FieldName must be a field name, got {name!r}")
    return ast.FieldPath(tuple(ast.PathSegment(part) for part in name.split(".")))


def _range_expression(text: Any, doc_id: str) -> ast.Node:
    if not isinstance(text, str):
        raise InvalidQueryError(f"Facet setup document '{doc_id}' has a range that is not text: {text!r}")
    try:
        where = parse_query(f"from x where {text}").where
    except InvalidQueryError as error:
        raise InvalidQueryError(f"Could not parse the range expression '{text}' from facet setup document: "
                                f"{doc_id}") from error
    assert where is not None
    return where


def _setup_aggregations(given: Any, doc_id: str) -> tuple[ast.FacetAggregation, ...]:
    if not given:
        return ()
    if not isinstance(given, dict):
        raise InvalidQueryError(f"Facet setup document '{doc_id}' has Aggregations that are not an object")
    found: list[ast.FacetAggregation] = []
    for operation, fields in given.items():
        if operation not in _OPERATIONS:
            raise InvalidQueryError(f"Unknown facet aggregation '{operation}' in facet setup document '{doc_id}'")
        for item in fields if isinstance(fields, list) else [fields]:
            name, display = (item.get("Name"), item.get("DisplayName")) if isinstance(item, dict) else (item, None)
            path = _path(name)
            if path is not None:
                found.append(ast.FacetAggregation(_OPERATIONS[operation], path, display))  # type: ignore[arg-type]
    return tuple(found)


# ---- answering --------------------------------------------------------------------------------


def facet_results(query: ast.Query, bindings: Bindings, reader: IndexReader, *,
                  is_exact: Callable[[str], bool] | None = None, deadline: Deadline = NO_DEADLINE
                  ) -> list[dict[str, Any]]:
    """The facet results of ``query`` (setups expanded by ``with_setups``), one per facet name;
    ``is_exact`` names the index fields kept case-sensitively (their terms show as written)."""
    planner = Planner(bindings, is_exact)
    condition = planner.condition(query.where) if query.where is not None else plan.Everything()
    results: dict[str, dict[str, Any]] = {}
    for facet in query.facets:
        spec = _spec(facet, bindings, planner)
        deadline.check()
        if spec.ranges:
            result = _by_ranges(spec, reader, condition)
        elif spec.field is None:
            result = _all_results(spec, reader, condition)
        else:
            result = _by_field(spec, reader, condition, is_exact is not None and is_exact(spec.field))
        results[spec.name] = result
    return list(results.values())


def matching_documents(query: ast.Query, bindings: Bindings, reader: IndexReader, source: DocumentSource, *,
                       is_exact: Callable[[str], bool] | None = None) -> list[dict[str, Any]]:
    """The documents a facet query counts (what its ``include`` paths are read from)."""
    planner = Planner(bindings, is_exact)
    condition = planner.condition(query.where) if query.where is not None else plan.Everything()
    ids = reader.ids(reader.documents(condition))
    return [document for doc_id in ids.values() if (document := source.get_document(doc_id)) is not None]


def _spec(facet: ast.Facet, bindings: Bindings, planner: Planner) -> _Spec:
    ranges = tuple(_parsed_range(item, bindings) for item in facet.ranges)
    fields = {planner.field(_range_field(item)) for item in facet.ranges}
    if len(fields) > 1:
        raise InvalidQueryError(f"Facet ranges must be defined on the same field while we got "
                                f"{' and '.join(sorted(fields))} used in the same facet", query=bindings.text)
    field_name = planner.field(facet.field) if facet.field is not None else next(iter(fields), None)
    aggregations: dict[tuple[str, str | None], set[str]] = {}
    for aggregation in facet.aggregations:  # one value per aggregated field and display name, as RavenDB keys them
        aggregations.setdefault((planner.field(aggregation.field), aggregation.alias), set()).add(aggregation.operation)
    name = facet.alias or (field_name if facet.field is not None or ranges else ALL_RESULTS)
    return _Spec(name or ALL_RESULTS, None if facet.field is None and not ranges else field_name, ranges,
                 tuple((index_field, alias or index_field, frozenset(operations))
                       for (index_field, alias), operations in aggregations.items()),
                 _options(facet.options, bindings))


def _options(parameter: ast.Parameter | None, bindings: Bindings) -> _Options:
    if parameter is None:
        return _Options()
    given = bindings.value(parameter)
    if not isinstance(given, dict):
        raise InvalidQueryError(f"Facet options must be an object, got {given!r}", query=bindings.text)
    sort = given.get("TermSortMode") or "ValueAsc"
    if sort not in _SORT_MODES:
        raise InvalidQueryError(f"Could not understand TermSortMode '{sort}'", query=bindings.text)
    try:
        start = int(given.get("Start") or 0)
        page_size = _MAX_PAGE if given.get("PageSize") is None else int(given["PageSize"])
    except (TypeError, ValueError) as error:
        raise InvalidQueryError("Facet options 'Start' and 'PageSize' must be integers", query=bindings.text) from error
    if start < 0 or page_size < 0:
        raise InvalidQueryError("Facet options 'Start' and 'PageSize' must not be negative", query=bindings.text)
    return _Options(start, page_size, sort, bool(given.get("IncludeRemainingTerms")))


def _range_field(expr: ast.Node) -> ast.Field:
    if isinstance(expr, ast.And):
        return _range_field(expr.items[0])
    if isinstance(expr, ast.Comparison | ast.Between):
        return expr.field
    raise InvalidQueryError(f"Unsupported range expression of a facet query: {expr.to_rql()}")


def _parsed_range(expr: ast.Node, bindings: Bindings) -> _Range:
    """A range with its bounds and its name: the expression with its parameters' values (``total < 100``)."""
    if isinstance(expr, ast.Between):
        low, high = bindings.value(expr.low), bindings.value(expr.high)
        text = f"{expr.field.to_rql()} between {_text(low)} and {_text(high)}"
        return _Range(text, _bound(low), True, _bound(high), True)
    if isinstance(expr, ast.Comparison):
        if expr.op not in _RANGE_OPS:
            raise InvalidQueryError(f"Unsupported operator in a range of a facet query: {expr.op}", query=bindings.text)
        value = bindings.value(expr.value)
        text = f"{expr.field.to_rql()} {expr.op} {_text(value)}"
        if expr.op in ("<", "<="):
            return _Range(text, high=_bound(value), high_inclusive=expr.op == "<=")
        return _Range(text, low=_bound(value), low_inclusive=expr.op == ">=")
    if isinstance(expr, ast.And):
        parts = [_parsed_range(item, bindings) for item in expr.items]
        merged = _Range(" and ".join(part.text for part in parts))
        for part in parts:
            if merged.low is None and part.low is not None:
                merged.low, merged.low_inclusive = part.low, part.low_inclusive
            if merged.high is None and part.high is not None:
                merged.high, merged.high_inclusive = part.high, part.high_inclusive
        return merged
    raise InvalidQueryError(f"Unsupported range expression of a facet query: {expr.to_rql()}", query=bindings.text)


def _bound(value: Any) -> float | str | None:
    """A range bound as terms compare with it: a number as a float, anything else as lower-cased text."""
    if value is None:
        return None
    if is_number(value):
        return float(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value).lower()


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "null" if value is None else str(value)


def _term(key: Any, text: str, written: str, exact: bool) -> str:
    """A term as RavenDB names it in facet values."""
    if isinstance(key, bytes):
        return text if key else NULL_VALUE
    if isinstance(key, str):
        shown = written if exact and written else key
        return shown if shown else EMPTY_STRING
    return text


def _by_field(spec: _Spec, reader: IndexReader, condition: plan.Condition, exact: bool) -> dict[str, Any]:
    assert spec.field is not None
    documents: dict[str, list[int]] = {}
    for doc, key, text, written in reader.terms(condition, spec.field):
        documents.setdefault(_term(key, text, written, exact), []).append(doc)
    counts = {term: len(docs) for term, docs in documents.items()}
    terms = _sorted_terms(counts, spec.options.sort)
    options = spec.options
    page = terms[options.start:options.start + min(len(terms), options.page_size)]
    values = [value for term in page for value in _values(spec, reader, term, documents[term])]
    shown_hits = sum(counts[term] for term in page)
    earlier_hits = sum(counts[term] for term in terms[:options.start])
    return _result(spec.name, values, terms[options.start + len(page):] if options.include_remaining else [],
                   len(terms) - (options.start + len(page)), sum(counts.values()) - earlier_hits - shown_hits)


def _by_ranges(spec: _Spec, reader: IndexReader, condition: plan.Condition) -> dict[str, Any]:
    assert spec.field is not None
    matched: dict[str, list[int]] = {}
    for item in spec.ranges:
        matched.setdefault(item.text, [])
    for doc, key, _, _ in reader.terms(condition, spec.field):
        value = key if isinstance(key, float) else key.lower() if isinstance(key, str) else None
        if value is None:
            continue
        for item in spec.ranges:
            if item.matches(value):
                matched[item.text].append(doc)
    values = [value for text, docs in matched.items() for value in _values(spec, reader, text, docs)]
    return _result(spec.name, values, [], 0, 0)


def _all_results(spec: _Spec, reader: IndexReader, condition: plan.Condition) -> dict[str, Any]:
    documents = reader.documents(condition)
    return _result(spec.name, _values(spec, reader, ALL_RESULTS, documents), [], 0, 0)


def _values(spec: _Spec, reader: IndexReader, term: str, documents: Sequence[int]) -> list[dict[str, Any]]:
    """The values one term (or range) contributes: one plain value, or one per aggregated field."""
    if not spec.aggregations:
        return [_value(None, term, len(documents))]
    found: list[dict[str, Any]] = []
    for index_field, name, operations in spec.aggregations:
        numbers = _numbers(reader, documents, index_field)
        value = _value(name, term, len(documents))
        if "sum" in operations:
            value["Sum"] = math.fsum(numbers)
        if "min" in operations:
            value["Min"] = min(numbers) if numbers else None
        if "max" in operations:
            value["Max"] = max(numbers) if numbers else None
        if "avg" in operations:
            value["Average"] = math.fsum(numbers) / len(numbers) if numbers else None
        found.append(value)
    return found


def _numbers(reader: IndexReader, documents: Sequence[int], index_field: str) -> list[float]:
    """Each document's numeric value at the field (0 when it has none), once per occurrence in ``documents``."""
    forms = reader.sort_values(sorted(set(documents)), index_field)
    return [(forms.get(doc, (None, None))[1] or 0.0) for doc in documents]


def _value(name: str | None, term: str, count: int) -> dict[str, Any]:
    return {"Name": name, "Range": term, "Count": count, "Sum": None, "Max": None, "Min": None, "Average": None}


def _result(name: str, values: list[dict[str, Any]], remaining: list[str], remaining_terms: int,
            remaining_hits: int) -> dict[str, Any]:
    return {"Name": name, "Values": values, "RemainingTerms": remaining, "RemainingTermsCount": remaining_terms,
            "RemainingHits": remaining_hits}


def _sorted_terms(counts: Mapping[str, int], mode: str) -> list[str]:
    if mode == "ValueAsc":
        return sorted(counts)
    if mode == "ValueDesc":
        return sorted(counts, reverse=True)
    if mode == "CountAsc":
        return sorted(counts, key=lambda term: (counts[term], term))
    return sorted(counts, key=lambda term: (-counts[term], term))
