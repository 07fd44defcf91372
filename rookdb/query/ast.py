"""The RQL syntax tree: frozen dataclasses with a canonical text form and a JSON form (the base and
the leaves — values, parameters, field paths — are in ``rookdb.query.nodes``, re-exported here).

``to_rql()`` renders the one canonical spelling of a node (lower-case keywords, single-quoted
strings, minimal parentheses), so ``parse(q.to_rql()) == q`` for every parsed query.
``to_json()`` gives the tree as plain JSON for table-driven parser tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal as TypingLiteral
from typing import TypeAlias

from rookdb.indexes.vector.fields import FORMS, FieldForm
from rookdb.query.facet_nodes import Facet, FacetAggregation
from rookdb.query.group_nodes import CountAggregate, GroupByItem, GroupKey, SumAggregate, outside_group_by
from rookdb.query.nodes import (
    CompareExchangeValue,
    Field,
    FieldPath,
    IdField,
    Literal,
    Node,
    Parameter,
    PathSegment,
    Value,
    format_number,
    name_text,
    quote_string,
)

__all__ = [
    "And",
    "Between",
    "Boost",
    "CompareExchangeValue",
    "Comparison",
    "CountAggregate",
    "EndsWith",
    "Exact",
    "Exists",
    "Expr",
    "Facet",
    "FacetAggregation",
    "Field",
    "FieldPath",
    "ForDoc",
    "Fuzzy",
    "GroupByItem",
    "GroupKey",
    "Highlight",
    "IdField",
    "In",
    "Literal",
    "Lucene",
    "Node",
    "Not",
    "Or",
    "OrderBy",
    "Parameter",
    "PathSegment",
    "Projection",
    "Query",
    "RandomOrder",
    "Regex",
    "ScoreOrder",
    "Search",
    "Select",
    "Source",
    "StartsWith",
    "SumAggregate",
    "TextWithTask",
    "TrueExpr",
    "Value",
    "VectorField",
    "VectorSearch",
    "format_number",
    "outside_group_by",
    "quote_string",
]

# ---- where expressions -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Comparison(Node):
    """``field <op> value`` with op one of ``= != < <= > >=`` (``==`` and ``<>`` are normalised)."""

    field: Field
    op: TypingLiteral["=", "!=", "<", "<=", ">", ">="]
    value: Value

    def to_rql(self) -> str:
        return f"{self.field.to_rql()} {self.op} {self.value.to_rql()}"


@dataclass(frozen=True, slots=True)
class Between(Node):
    """``field between low and high``, both ends inclusive."""

    field: Field
    low: Value
    high: Value

    def to_rql(self) -> str:
        return f"{self.field.to_rql()} between {self.low.to_rql()} and {self.high.to_rql()}"


@dataclass(frozen=True, slots=True)
class In(Node):
    """``field in (...)``, or ``field all in (...)`` when ``all`` is set."""

    field: Field
    values: tuple[Value, ...]
    all: bool = False

    def to_rql(self) -> str:
        keyword = "all in" if self.all else "in"
        values = ", ".join(v.to_rql() for v in self.values)
        return f"{self.field.to_rql()} {keyword} ({values})"


@dataclass(frozen=True, slots=True)
class StartsWith(Node):
    """``startsWith(field, prefix)``."""

    field: Field
    value: Value

    def to_rql(self) -> str:
        return f"startsWith({self.field.to_rql()}, {self.value.to_rql()})"


@dataclass(frozen=True, slots=True)
class EndsWith(Node):
    """``endsWith(field, suffix)``."""

    field: Field
    value: Value

    def to_rql(self) -> str:
        return f"endsWith({self.field.to_rql()}, {self.value.to_rql()})"


@dataclass(frozen=True, slots=True)
class Exists(Node):
    """``exists(field)``."""

    field: Field

    def to_rql(self) -> str:
        return f"exists({self.field.to_rql()})"


@dataclass(frozen=True, slots=True)
class Search(Node):
    """``search(field, 'terms' [, and])``: full-text term matching, any term by default; wrapped in
    ``proximity(..., n)`` the terms are a phrase whose words may move ``n`` positions."""

    field: Field
    value: Value
    operator: TypingLiteral["or", "and"] = "or"
    proximity: int | None = None

    def to_rql(self) -> str:
        suffix = ", and" if self.operator == "and" else ""
        text = f"search({self.field.to_rql()}, {self.value.to_rql()}{suffix})"
        return text if self.proximity is None else f"proximity({text}, {self.proximity})"


@dataclass(frozen=True, slots=True)
class Regex(Node):
    """``regex(field, pattern)``."""

    field: Field
    value: Value

    def to_rql(self) -> str:
        return f"regex({self.field.to_rql()}, {self.value.to_rql()})"


@dataclass(frozen=True, slots=True)
class TrueExpr(Node):
    """``true``: matches every document (the client writes ``true and not ...``)."""

    def to_rql(self) -> str:
        return "true"


@dataclass(frozen=True, slots=True)
class And(Node):
    """Every item matches; nested ``and`` chains are flattened into one node."""

    items: tuple[Expr, ...]

    def to_rql(self) -> str:
        return " and ".join(_operand(item, 2) for item in self.items)


@dataclass(frozen=True, slots=True)
class Or(Node):
    """Any item matches; nested ``or`` chains are flattened into one node."""

    items: tuple[Expr, ...]

    def to_rql(self) -> str:
        return " or ".join(_operand(item, 1) for item in self.items)


@dataclass(frozen=True, slots=True)
class Not(Node):
    """``not expr``."""

    expr: Expr

    def to_rql(self) -> str:
        return "not " + _operand(self.expr, 3)


@dataclass(frozen=True, slots=True)
class Exact(Node):
    """``exact(expr)``: string comparisons inside are case-sensitive."""

    expr: Expr

    def to_rql(self) -> str:
        return f"exact({self.expr.to_rql()})"


@dataclass(frozen=True, slots=True)
class Boost(Node):
    """``boost(expr, factor)``: multiplies the score of matches."""

    expr: Expr
    factor: Value

    def to_rql(self) -> str:
        return f"boost({self.expr.to_rql()}, {self.factor.to_rql()})"


@dataclass(frozen=True, slots=True)
class Fuzzy(Node):
    """``fuzzy(field = value, similarity)``: values within Lucene's edit-distance similarity of ``value``."""

    comparison: Comparison
    similarity: float

    @property
    def field(self) -> Field:
        return self.comparison.field

    def to_rql(self) -> str:
        return f"fuzzy({self.comparison.to_rql()}, {format_number(self.similarity)})"


@dataclass(frozen=True, slots=True)
class Lucene(Node):
    """``lucene(field, 'query')``: a Lucene query string over ``field`` (``rookdb.query.lucene``)."""

    field: Field
    value: Value

    def to_rql(self) -> str:
        return f"lucene({self.field.to_rql()}, {self.value.to_rql()})"


# ---- vector search: every field form RavenDB's RQL accepts -------------------------------------

VectorKind: TypeAlias = FieldForm


@dataclass(frozen=True, slots=True)
class VectorField(Node):
    """The searched field: bare (``kind="field"``) or ``embedding.<kind>(path[, ai.task(task)])``."""

    kind: VectorKind
    path: FieldPath
    task: Literal | Parameter | None = None

    def to_rql(self) -> str:
        if self.kind == "field":
            return self.path.to_rql()
        task = f", ai.task({self.task.to_rql()})" if self.task is not None else ""
        return f"embedding.{self.kind}({self.path.to_rql()}{task})"

    @property
    def source_type(self) -> str:
        """RavenDB's ``SourceEmbeddingType``: ``Text``, ``Single``, ``Int8`` or ``Binary``."""
        return FORMS[self.kind][0]

    @property
    def destination_type(self) -> str:
        """RavenDB's ``DestinationEmbeddingType`` (the quantization of the index)."""
        return FORMS[self.kind][1]


@dataclass(frozen=True, slots=True)
class ForDoc(Node):
    """``embedding.forDoc(id)``: use that document's indexed embedding as the query vector."""

    doc_id: Literal | Parameter

    def to_rql(self) -> str:
        return f"embedding.forDoc({self.doc_id.to_rql()})"


@dataclass(frozen=True, slots=True)
class TextWithTask(Node):
    """``embedding.text(text, ai.task(task))``: embed the text with that task's model."""

    text: Literal | Parameter
    task: Literal | Parameter
    kind: TypingLiteral["text", "text_i8", "text_i1"] = "text"

    def to_rql(self) -> str:
        return f"embedding.{self.kind}({self.text.to_rql()}, ai.task({self.task.to_rql()}))"


VectorQuery: TypeAlias = Literal | Parameter | ForDoc | TextWithTask


@dataclass(frozen=True, slots=True)
class VectorSearch(Node):
    """``[boost(][exact(]vector.search(field, query[, similarity[, candidates]])[)][, boost)]``."""

    field: VectorField
    query: VectorQuery
    minimum_similarity: float | None = None
    number_of_candidates: int | None = None
    exact: bool = False
    boost: float | None = None

    def to_rql(self) -> str:
        args = [self.field.to_rql(), self.query.to_rql()]
        if self.minimum_similarity is not None or self.number_of_candidates is not None:
            args.append(_optional_number(self.minimum_similarity))
            if self.number_of_candidates is not None:
                args.append(_optional_number(self.number_of_candidates))
        text = f"vector.search({', '.join(args)})"
        if self.exact:
            text = f"exact({text})"
        if self.boost is not None:
            text = f"boost({text}, {format_number(self.boost)})"
        return text


def _optional_number(number: int | float | None) -> str:
    return "null" if number is None else format_number(number)


Expr: TypeAlias = (
    Comparison | Between | In | StartsWith | EndsWith | Exists | Search | Regex | TrueExpr
    | And | Or | Not | Exact | Boost | VectorSearch | Fuzzy | Lucene
)


def _precedence(expr: Node) -> int:
    if isinstance(expr, Or):
        return 1
    if isinstance(expr, And):
        return 2
    return 3


def _operand(expr: Node, parent: int) -> str:
    text = expr.to_rql()
    return f"({text})" if _precedence(expr) < parent else text


# ---- clauses ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Source(Node):
    """What is queried: a collection, ``@all_docs`` (``name`` None) or a named index."""

    kind: TypingLiteral["collection", "all_docs", "index"]
    name: str | None
    alias: str | None = None

    def to_rql(self) -> str:
        if self.kind == "all_docs":
            text = "from @all_docs"
        elif self.kind == "index":
            text = f"from index {quote_string(self.name or '')}"
        else:
            text = f"from {name_text(self.name or '')}"
        return text + (f" as {self.alias}" if self.alias else "")


@dataclass(frozen=True, slots=True)
class ScoreOrder(Node):
    """``score()`` as an ordering key."""

    def to_rql(self) -> str:
        return "score()"


@dataclass(frozen=True, slots=True)
class RandomOrder(Node):
    """``random([seed])`` as an ordering key."""

    seed: Value | None = None

    def to_rql(self) -> str:
        return f"random({self.seed.to_rql() if self.seed is not None else ''})"


@dataclass(frozen=True, slots=True)
class OrderBy(Node):
    """One ``order by`` key; ``ordering`` None means the default (string) ordering."""

    target: FieldPath | IdField | ScoreOrder | RandomOrder | CountAggregate | SumAggregate
    ordering: TypingLiteral["string", "long", "double", "alphaNumeric"] | None = None
    descending: bool = False
    nulls: TypingLiteral["first", "last"] | None = None

    def to_rql(self) -> str:
        text = self.target.to_rql()
        if self.ordering is not None:
            text += f" as {self.ordering}"
        if self.descending:
            text += " desc"
        if self.nulls is not None:
            text += f" nulls {self.nulls}"
        return text


@dataclass(frozen=True, slots=True)
class Projection(Node):
    """One ``select`` item, ``field [as alias]`` (in a ``group by`` query also ``key()``, ``count()``,
    ``sum(field)``)."""

    field: Field | GroupKey | CountAggregate | SumAggregate
    alias: str | None = None

    def to_rql(self) -> str:
        return self.field.to_rql() + (f" as {name_text(self.alias)}" if self.alias is not None else "")


@dataclass(frozen=True, slots=True)
class Select(Node):
    """``select [distinct] projection, ...``."""

    projections: tuple[Projection, ...]
    distinct: bool = False

    def to_rql(self) -> str:
        keyword = "select distinct " if self.distinct else "select "
        return keyword + ", ".join(p.to_rql() for p in self.projections)


@dataclass(frozen=True, slots=True)
class Highlight(Node):
    """``include highlight(field, fragment_length, fragment_count[, $options])``."""

    field: FieldPath
    fragment_length: int
    fragment_count: int
    options: Parameter | None = None

    def to_rql(self) -> str:
        options = f", {self.options.to_rql()}" if self.options is not None else ""
        return f"highlight({self.field.to_rql()}, {self.fragment_length}, {self.fragment_count}{options})"


@dataclass(frozen=True, slots=True)
class Query(Node):
    """A whole RQL query."""

    source: Source
    where: Expr | None = None
    group_by: tuple[GroupByItem, ...] = ()
    order_by: tuple[OrderBy, ...] = ()
    select: Select | None = None
    facets: tuple[Facet, ...] = ()
    """``select facet(...), ...``: the query answers with facet results instead of documents."""
    include: tuple[FieldPath, ...] = ()
    include_compare_exchange: tuple[FieldPath, ...] = ()
    """``include cmpxchg(path)``: the compare-exchange values whose keys the path holds."""
    include_timings: bool = False
    include_explanations: Parameter | bool = False
    """``include explanations([$options])``: why each result matched (the options name a group key)."""
    highlights: tuple[Highlight, ...] = ()
    javascript: str | None = None
    """A JavaScript projection (``select { Name: o.Name }``, ``select f(o)``), run by the database."""
    declarations: tuple[str, ...] = ()
    """``declare function name(...) { ... }`` sources, as written before ``from``."""
    limit: Value | None = None
    offset: Value | None = None

    def to_rql(self) -> str:
        parts = [*self.declarations, self.source.to_rql()]
        if self.group_by:
            parts.append("group by " + ", ".join(item.to_rql() for item in self.group_by))
        if self.where is not None:
            parts.append("where " + self.where.to_rql())
        if self.order_by:
            parts.append("order by " + ", ".join(o.to_rql() for o in self.order_by))
        if self.select is not None:
            parts.append(self.select.to_rql())
        if self.javascript is not None:
            parts.append("select " + self.javascript)
        if self.facets:
            parts.append("select " + ", ".join(facet.to_rql() for facet in self.facets))
        includes = [p.to_rql() for p in self.include]
        includes += [f"cmpxchg({p.to_rql()})" for p in self.include_compare_exchange]
        includes += ["timings()"] if self.include_timings else []
        if self.include_explanations is not False:
            options = self.include_explanations
            includes.append(f"explanations({options.to_rql() if isinstance(options, Parameter) else ''})")
        includes += [highlight.to_rql() for highlight in self.highlights]
        if includes:
            parts.append("include " + ", ".join(includes))
        if self.limit is not None and self.offset is not None:
            parts.append(f"limit {self.offset.to_rql()}, {self.limit.to_rql()}")
        elif self.limit is not None:
            parts.append(f"limit {self.limit.to_rql()}")
        elif self.offset is not None:
            parts.append(f"offset {self.offset.to_rql()}")
        return " ".join(parts)

    def parameters(self) -> tuple[Parameter, ...]:
        """Every ``$parameter`` reference, in the order they appear."""
        return self.nodes_of(Parameter)
