"""LINQ maps and reduces as index maps: ``compile_map`` and ``compile_reduce`` parse the text, compile
it to closures (``expressions.py``) and wrap them as the ``IndexMap`` / ``IndexReduce`` the static
index engine runs."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from rookdb.indexes.linq import ast
from rookdb.indexes.linq.expressions import SCOPE_SLOT, SOURCE_SLOT, Evaluator, ExpressionCompiler, Frame
from rookdb.indexes.linq.parser import parse_linq
from rookdb.indexes.linq.runtime import Grouping, LinqRuntimeError, index_value
from rookdb.indexes.static.mapping import MISSING, IndexMap, IndexReduce, MapFailure, MapScope, embeddings_collection

__all__ = ["LinqMap", "LinqReduce", "compile_map", "compile_reduce"]


class LinqMap(IndexMap):
    """A compiled LINQ map over one collection."""

    def __init__(self, text: str, collection: str | None, field_names: tuple[str, ...],
                 references: frozenset[str] | None, evaluate: Evaluator, slots: int,
                 properties: dict[str, tuple[str, ...]] | None = None) -> None:
        self.text = text
        self.collection = collection
        self.field_names = field_names
        self.references = references
        self._evaluate = evaluate
        self._slots = slots
        self._properties = properties or {}
        """Output fields that read a property of the document as is, by field name: its path."""

    def run(self, documents: Sequence[dict[str, Any]], scope: MapScope) -> list[list[dict[str, Any]] | MapFailure]:
        results: list[list[dict[str, Any]] | MapFailure] = []
        for position, document in enumerate(documents):
            scope.start(position)
            try:
                results.append(self.outputs(document, scope))
            except MapFailure as failure:
                results.append(failure)
            except Exception as error:  # a map is user code: any failure belongs to its document
                results.append(MapFailure(_failure_text(error)))
        return results

    def outputs(self, document: dict[str, Any], scope: MapScope) -> list[dict[str, Any]]:
        """One document's outputs; raises what the map raised."""
        frame: Frame = [None] * self._slots
        frame[SCOPE_SLOT] = scope
        frame[SOURCE_SLOT] = document
        outputs = _outputs(self._evaluate(frame))
        for output in outputs:
            for name, path in self._properties.items():
                if name in output and output[name] is None and _lacks(document, path):
                    output[name] = MISSING
        return outputs


class LinqReduce(IndexReduce):
    """A compiled LINQ reduce: the key of ``group ... by`` / ``GroupBy``, and the whole expression."""

    def __init__(self, text: str, field_names: tuple[str, ...], key: Evaluator, key_slot: int,
                 evaluate: Evaluator, slots: int) -> None:
        self.text = text
        self.field_names = field_names
        self._key = key
        self._key_slot = key_slot
        self._evaluate = evaluate
        self._slots = slots

    def keys(self, outputs: Sequence[dict[str, Any]]) -> list[Any | MapFailure]:
        frame: Frame = [None] * self._slots
        keys: list[Any | MapFailure] = []
        for output in outputs:
            frame[self._key_slot] = output
            try:
                keys.append(index_value(self._key(frame)))
            except Exception as error:  # user code
                keys.append(MapFailure(_failure_text(error)))
        return keys

    def reduce(self, groups: Sequence[Sequence[dict[str, Any]]]) -> list[list[dict[str, Any]] | MapFailure]:
        results: list[list[dict[str, Any]] | MapFailure] = []
        for group in groups:
            frame: Frame = [None] * self._slots
            frame[SOURCE_SLOT] = list(group)
            try:
                results.append(_outputs(self._evaluate(frame)))
            except Exception as error:  # user code
                results.append(MapFailure(_failure_text(error)))
        return results


@functools.lru_cache(maxsize=256)
def compile_map(text: str) -> LinqMap:
    """Compile one map (``from x in docs.Coll ... select new {...}`` or ``docs.Coll.Select(...)``)."""
    tree = parse_linq(text, "Maps")
    compiler = ExpressionCompiler(text, "Maps")
    evaluate = compiler.expr(tree)
    if not compiler.reads_docs:
        raise compiler.error(tree, "A map must read documents: start it with 'from x in docs.Collection' or "
                                   "'docs.Collection.Select(...)'")
    if not isinstance(tree, ast.Query | ast.Call):
        raise compiler.error(tree, "A map must be a query ('from x in docs.Collection select new { ... }') or a "
                                   "method chain ('docs.Collection.Select(x => new { ... })')")
    references = compiler.references
    if compiler.loads_own_vectors and references is not None:
        references = references | {embeddings_collection(compiler.collection)}
    return LinqMap(text, compiler.collection, _output_names(tree), references, evaluate, compiler.slots,
                   _property_paths(tree))


@functools.lru_cache(maxsize=256)
def compile_reduce(text: str) -> LinqReduce:
    """Compile a reduce (``from r in results group r by r.Key into g select new {...}`` or
    ``results.GroupBy(r => r.Key).Select(g => new {...})``)."""
    tree = parse_linq(text, "Reduce")
    compiler = ExpressionCompiler(text, "Reduce")
    evaluate = compiler.expr(tree)
    grouping = _grouping(tree)
    if grouping is None or not compiler.reads_results:
        raise compiler.error(tree, "A reduce must group the results: 'from r in results group r by r.Key into g "
                                   "select new { ... }' or 'results.GroupBy(r => r.Key).Select(g => new { ... })'")
    variable, key = grouping
    key_compiler = ExpressionCompiler(text, "Reduce")
    key_slot = key_compiler.declare(variable)
    key_evaluate = key_compiler.expr(key)
    key_compiler.close_scope()
    slots = max(compiler.slots, key_compiler.slots)
    return LinqReduce(text, _output_names(tree), key_evaluate, key_slot, evaluate, slots)


# ---- outputs ------------------------------------------------------------------------------------


def _outputs(value: Any) -> list[dict[str, Any]]:
    if isinstance(value, Grouping):
        value = value.items
    if not isinstance(value, list):
        raise MapFailure("The map must produce a sequence of objects")
    outputs: list[dict[str, Any]] = []
    for item in value:
        if not isinstance(item, dict):
            raise MapFailure(f"The map produced a {type(item).__name__}, not an object: select 'new {{ ... }}'")
        outputs.append(index_value(item))
    return outputs


def _failure_text(error: BaseException) -> str:
    if isinstance(error, LinqRuntimeError | MapFailure):
        return str(error)
    return f"{type(error).__name__}: {error}"


def _output_names(tree: ast.Expr) -> tuple[str, ...]:
    """The fields of the final ``select new { ... }``, when the map's shape shows them."""
    final: ast.Expr | None = None
    if isinstance(tree, ast.Query):
        body = tree.body
        while body.continuation is not None:
            body = body.continuation.body
        if isinstance(body.final, ast.SelectClause):
            final = body.final.value
    elif isinstance(tree, ast.Call) and tree.name in ("Select", "SelectMany") and tree.arguments:
        last = tree.arguments[-1]
        if isinstance(last, ast.Lambda):
            final = last.body
    if isinstance(final, ast.AnonymousObject):
        return tuple(name for name, _ in final.members if name != "_")
    return ()


def _property_paths(tree: ast.Expr) -> dict[str, tuple[str, ...]]:
    """The output fields of a map over one document per entry (``from c in docs.C select new { ... }``,
    ``docs.C.Select(c => new { ... })``) that are a property path of that document (``c.Address.City``):
    when such a field is null, the document tells an explicit null from a missing property."""
    root: str | None = None
    final: ast.Expr | None = None
    body = tree.body if isinstance(tree, ast.Query) else None
    if isinstance(tree, ast.Query) and body is not None and body.continuation is None \
            and isinstance(body.final, ast.SelectClause) \
            and not any(isinstance(clause, ast.FromClause) for clause in body.clauses):
        root, final = tree.first.name, body.final.value
    elif isinstance(tree, ast.Call) and tree.name == "Select" and len(tree.arguments) == 1 \
            and isinstance(tree.arguments[0], ast.Lambda) and len(tree.arguments[0].parameters) == 1 \
            and _reads_docs_directly(tree.target):
        root, final = tree.arguments[0].parameters[0], tree.arguments[0].body
    if not isinstance(final, ast.AnonymousObject):
        return {}
    paths: dict[str, tuple[str, ...]] = {}
    for name, value in final.members:
        path: list[str] = []
        while isinstance(value, ast.Member) and not value.conditional:
            path.append(value.name)
            value = value.target
        if path and isinstance(value, ast.Name) and value.name == root and not {"Id", "Count", "Length"} & set(path):
            paths[name] = tuple(reversed(path))
    return paths


def _reads_docs_directly(target: ast.Expr | None) -> bool:
    """``docs``, ``docs.Coll``, or either filtered by ``Where``: each element is a document."""
    while isinstance(target, ast.Call) and target.name == "Where":
        target = target.target
    if isinstance(target, ast.Member):
        target = target.target
    return isinstance(target, ast.Name) and target.name == "docs"


def _lacks(document: dict[str, Any], path: tuple[str, ...]) -> bool:
    """True when the document does not have the property at ``path`` (an explicit null on the way is
    a null, not a missing property, as in RavenDB)."""
    value: Any = document
    for name in path:
        if value is None:
            return False
        if not isinstance(value, dict) or name not in value:
            return True
        value = value[name]
    return False


def _grouping(tree: ast.Expr) -> tuple[str, ast.Expr] | None:
    """The range variable and key expression a reduce groups by."""
    if isinstance(tree, ast.Query) and isinstance(tree.first.source, ast.Name) \
            and tree.first.source.name == "results" and isinstance(tree.body.final, ast.GroupClause):
        return tree.first.name, tree.body.final.key
    if isinstance(tree, ast.Call) and tree.name == "Select" and isinstance(tree.target, ast.Call):
        inner = tree.target
        if inner.name == "GroupBy" and isinstance(inner.target, ast.Name) and inner.target.name == "results" \
                and inner.arguments and isinstance(inner.arguments[0], ast.Lambda) \
                and len(inner.arguments[0].parameters) == 1:
            return inner.arguments[0].parameters[0], inner.arguments[0].body
    return None
