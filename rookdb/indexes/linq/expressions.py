"""LINQ syntax trees → Python closures.

Each expression compiles to a function of a *frame*, a list of slots: slot 0 holds the ``MapScope``,
slot 1 the document being mapped (or, in a reduce, the results being reduced), and every range
variable, ``let`` and lambda parameter gets a slot of its own when it is compiled, so evaluation never
looks a name up. Everything outside the supported subset (``rookdb.indexes.linq.methods``) is refused
here, at definition time, with the construct and its line and column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeAlias

from rookdb.errors import IndexCompilationError
from rookdb.indexes.linq import ast
from rookdb.indexes.linq.methods import (
    INSTANCE_METHODS,
    SEQUENCE_METHODS,
    STATIC_MEMBERS,
    STATIC_METHODS,
    Function,
    Signature,
    group_by,
)
from rookdb.indexes.linq.runtime import (
    ClrType,
    Grouping,
    LinqRuntimeError,
    add,
    arithmetic,
    cast,
    compare,
    element,
    equals,
    index_value,
    iterate,
    member,
    truthy,
)
from rookdb.indexes.static.mapping import (
    CreatedField,
    MapScope,
    VectorInput,
)

__all__ = ["SCOPE_SLOT", "SOURCE_SLOT", "Evaluator", "ExpressionCompiler", "Frame"]

Frame: TypeAlias = list[Any]
Evaluator: TypeAlias = Callable[[Frame], Any]
_Step: TypeAlias = Callable[[Frame, list[Any]], None]

SCOPE_SLOT, SOURCE_SLOT = 0, 1
_MISSING = object()
_STATIC_CLASSES = {"Math": "Math", "string": "string", "String": "string", "DateTime": "DateTime",
                   "Convert": "Convert", "FieldIndexing": "FieldIndexing", "FieldStorage": "FieldStorage",
                   "FieldTermVector": "FieldTermVector"}
_OPTION_TYPES = frozenset({"CreateFieldOptions", "CreatedFieldOptions"})
_UNSUPPORTED_FUNCTIONS = {
    "CreateSpatialField": "spatial fields are not supported",
    "Recurse": "Recurse() is not supported",
    "AsJson": "AsJson() is not supported",
    "LoadAttachment": "attachments cannot be loaded in an index",
    "LoadAttachments": "attachments cannot be loaded in an index",
    "AttachmentsFor": "attachments cannot be read in an index",
    "CounterNamesFor": "counters are not supported",
    "TimeSeriesNamesFor": "time series are not supported",
    "LoadCompareExchangeValue": "compare exchange values are not supported",
    "GetMetadata": "use MetadataFor(doc)",
}


class ExpressionCompiler:
    """Compiles the expressions of one map or reduce, giving every variable a slot of the frame."""

    def __init__(self, text: str, property_name: str) -> None:
        self.text = text
        self.property_name = property_name
        self.slots = 2
        self.scopes: list[dict[str, int]] = [{}]
        self.collection: str | None = None
        self.reads_docs = False
        self.reads_results = False
        self.references: frozenset[str] | None = frozenset()
        self.loads_own_vectors = False

    def error(self, node: ast.Node, message: str) -> IndexCompilationError:
        return IndexCompilationError(f"{message} ({node.where})", definition_property=self.property_name,
                                     problematic_text=self.text)

    # ---- names

    def declare(self, name: str) -> int:
        slot = self.slots
        self.slots += 1
        self.scopes[-1][name] = slot
        return slot

    def open_scope(self) -> None:
        self.scopes.append({})

    def close_scope(self) -> None:
        self.scopes.pop()

    def lookup(self, name: str) -> int | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    # ---- expressions

    def expr(self, node: ast.Expr) -> Evaluator:
        method = getattr(self, "_" + type(node).__name__)
        evaluator: Evaluator = method(node)
        return evaluator

    def _Literal(self, node: ast.Literal) -> Evaluator:
        value = node.value
        return lambda frame: value

    def _Name(self, node: ast.Name) -> Evaluator:
        slot = self.lookup(node.name)
        if slot is not None:
            return lambda frame: frame[slot]
        if node.name == "docs" and self.property_name == "Maps":
            return self._documents(node, None)
        if node.name == "results" and self.property_name == "Reduce":
            self.reads_results = True
            return lambda frame: frame[SOURCE_SLOT]
        if node.name in _STATIC_CLASSES:
            raise self.error(node, f"'{node.name}' is a type and cannot be used as a value")
        raise self.error(node, f"The name '{node.name}' does not exist in the current context")

    def _documents(self, node: ast.Node, collection: str | None) -> Evaluator:
        if self.reads_docs and self.collection != collection:
            raise self.error(node, "A map reads one collection: write one map per collection (a multi-map index)")
        self.reads_docs = True
        self.collection = collection
        return lambda frame: [frame[SOURCE_SLOT]]

    def _Member(self, node: ast.Member) -> Evaluator:
        target = node.target
        if isinstance(target, ast.Name) and self.lookup(target.name) is None:
            if target.name == "docs" and self.property_name == "Maps":
                return self._documents(node, node.name)
            if target.name in _STATIC_CLASSES:
                key = (_STATIC_CLASSES[target.name], node.name)
                if key not in STATIC_MEMBERS:
                    raise self.error(node, f"'{target.name}.{node.name}' is not supported")
                value = STATIC_MEMBERS[key]
                return lambda frame: value
        name = node.name
        known = self.lookup(target.name) if isinstance(target, ast.Name) else None
        if known is not None:
            slot = known

            def slot_member(frame: Frame) -> Any:
                value = frame[slot]
                if type(value) is dict:
                    found = value.get(name, _MISSING)
                    if found is not _MISSING:
                        return found
                return member(value, name)

            return slot_member
        inner = self.expr(target)

        def nested_member(frame: Frame) -> Any:
            value = inner(frame)
            if type(value) is dict:
                found = value.get(name, _MISSING)
                if found is not _MISSING:
                    return found
            return member(value, name)

        return nested_member

    def _Element(self, node: ast.Element) -> Evaluator:
        target = node.target
        if isinstance(target, ast.Name) and target.name == "docs" and self.lookup("docs") is None \
                and self.property_name == "Maps":
            if not isinstance(node.index, ast.Literal) or not isinstance(node.index.value, str):
                raise self.error(node, "docs[...] needs the collection name as a string")
            return self._documents(node, node.index.value)
        container, index = self.expr(target), self.expr(node.index)
        return lambda frame: element(container(frame), index(frame))

    def _Binary(self, node: ast.Binary) -> Evaluator:
        left, right = self.expr(node.left), self.expr(node.right)
        op = node.op
        if op == "&&":
            return lambda frame: truthy(left(frame)) and truthy(right(frame))
        if op == "||":
            return lambda frame: truthy(left(frame)) or truthy(right(frame))
        if op == "+":
            return lambda frame: add(left(frame), right(frame))
        if op in ("-", "*", "/", "%"):
            return lambda frame: arithmetic(op, left(frame), right(frame))
        if op == "==":
            return lambda frame: equals(left(frame), right(frame))
        if op == "!=":
            return lambda frame: not equals(left(frame), right(frame))
        return lambda frame: compare(op, left(frame), right(frame))

    def _Unary(self, node: ast.Unary) -> Evaluator:
        operand = self.expr(node.operand)
        if node.op == "!":
            return lambda frame: not truthy(operand(frame))
        if node.op == "-":
            return lambda frame: arithmetic("-", 0, value) if (value := operand(frame)) is not None else None
        return operand

    def _Conditional(self, node: ast.Conditional) -> Evaluator:
        test, then, otherwise = self.expr(node.test), self.expr(node.then), self.expr(node.otherwise)
        return lambda frame: then(frame) if truthy(test(frame)) else otherwise(frame)

    def _Coalesce(self, node: ast.Coalesce) -> Evaluator:
        left, right = self.expr(node.left), self.expr(node.right)
        return lambda frame: value if (value := left(frame)) is not None else right(frame)

    def _Cast(self, node: ast.Cast) -> Evaluator:
        operand = self.expr(node.operand)
        target, nullable = node.target_type, node.nullable
        return lambda frame: cast(target, nullable, operand(frame))

    def _IsNull(self, node: ast.IsNull) -> Evaluator:
        operand = self.expr(node.operand)
        if node.negated:
            return lambda frame: operand(frame) is not None
        return lambda frame: operand(frame) is None

    def _AnonymousObject(self, node: ast.AnonymousObject) -> Evaluator:
        if node.type_name is not None and node.type_name not in _OPTION_TYPES:
            raise self.error(node, f"Creating a '{node.type_name}' is not supported: use an anonymous object "
                                   "'new { ... }'")
        members = [(name, self.expr(value)) for name, value in node.members]

        def build(frame: Frame) -> dict[str, Any]:
            result: dict[str, Any] = {}
            for name, value in members:
                item = value(frame)
                if name == "_" and "_" in result:  # several created-field groups
                    earlier = result["_"]
                    item = [*(earlier if isinstance(earlier, list) else [earlier]),
                            *(item if isinstance(item, list) else [item])]
                result[name] = item
            return result

        return build

    def _NewArray(self, node: ast.NewArray) -> Evaluator:
        items = [self.expr(item) for item in node.items]
        return lambda frame: [item(frame) for item in items]

    def _Lambda(self, node: ast.Lambda) -> Evaluator:
        self.open_scope()
        slots = [self.declare(name) for name in node.parameters]
        body = self.expr(node.body)
        self.close_scope()
        arity = len(slots)
        if arity == 1:
            (only,) = slots

            def make_one(frame: Frame) -> Function:
                def call(value: Any) -> Any:
                    frame[only] = value
                    return body(frame)

                return Function(1, call)

            return make_one

        def make(frame: Frame) -> Function:
            def call(*values: Any) -> Any:
                if len(values) != arity:
                    raise LinqRuntimeError(f"A lambda of {arity} parameters was called with {len(values)}")
                for slot, value in zip(slots, values, strict=True):
                    frame[slot] = value
                return body(frame)

            return Function(arity, call)

        return make

    # ---- calls

    def _Call(self, node: ast.Call) -> Evaluator:
        target = node.target
        if target is None:
            return self._function(node)
        if isinstance(target, ast.Name) and self.lookup(target.name) is None and target.name in _STATIC_CLASSES:
            key = (_STATIC_CLASSES[target.name], node.name)
            signature = STATIC_METHODS.get(key)
            if signature is None:
                raise self.error(node, f"'{target.name}.{node.name}()' is not supported")
            self._check_arity(node, signature, f"{target.name}.{node.name}")
            arguments = [self.expr(argument) for argument in node.arguments]
            implementation = signature.implementation
            return lambda frame: implementation(*[argument(frame) for argument in arguments])
        signature = INSTANCE_METHODS.get(node.name)
        if signature is None:
            raise self.error(node, f"The method '{node.name}' is not supported")
        self._check_arity(node, signature, node.name)
        receiver = self.expr(target)
        arguments = [self.expr(argument) for argument in node.arguments]
        implementation = signature.implementation
        null_is_empty = node.name in SEQUENCE_METHODS

        def call(frame: Frame) -> Any:
            value = receiver(frame)
            if value is None and not null_is_empty:
                return None
            return implementation(value, *[argument(frame) for argument in arguments])

        return call

    def _check_arity(self, node: ast.Call, signature: Signature, name: str) -> None:
        count = len(node.arguments)
        if not signature.minimum <= count <= signature.maximum:
            expected = (str(signature.minimum) if signature.minimum == signature.maximum
                        else f"{signature.minimum} to {signature.maximum}")
            raise self.error(node, f"'{name}' takes {expected} arguments, not {count}")

    def _function(self, node: ast.Call) -> Evaluator:
        name = node.name
        if name in _UNSUPPORTED_FUNCTIONS:
            raise self.error(node, f"'{name}' cannot be used: {_UNSUPPORTED_FUNCTIONS[name]}")
        handler = getattr(self, "_call_" + name, None)
        if handler is None:
            raise self.error(node, f"The name '{name}' does not exist in the current context")
        evaluator: Evaluator = handler(node)
        return evaluator

    def _arguments(self, node: ast.Call, minimum: int, maximum: int) -> list[Evaluator]:
        count = len(node.arguments)
        if not minimum <= count <= maximum:
            expected = str(minimum) if minimum == maximum else f"{minimum} to {maximum}"
            raise self.error(node, f"'{node.name}' takes {expected} arguments, not {count}")
        return [self.expr(argument) for argument in node.arguments]

    def _call_LoadDocument(self, node: ast.Call) -> Evaluator:
        if self.property_name != "Maps":
            raise self.error(node, "LoadDocument cannot be used in a reduce")
        arguments = self._arguments(node, 1, 2)
        collection: str | None = None
        if len(node.arguments) == 2:
            named = node.arguments[1]
            if not isinstance(named, ast.Literal) or not isinstance(named.value, str):
                raise self.error(node, "LoadDocument's collection must be a string literal")
            collection = named.value
        if collection is None:
            self.references = None
        elif self.references is not None:
            self.references = self.references | {collection}
        identifier = arguments[0]

        def load(frame: Frame) -> Any:
            scope: MapScope = frame[SCOPE_SLOT]
            ids = identifier(frame)
            if isinstance(ids, list):
                return [scope.load(item, collection) if isinstance(item, str) else None for item in ids]
            return scope.load(ids, collection) if isinstance(ids, str) and ids else None

        return load

    def _call_typeof(self, node: ast.Call) -> Evaluator:
        if len(node.arguments) != 1:
            raise self.error(node, "typeof takes one type name")
        parts: list[str] = []
        named: ast.Expr = node.arguments[0]
        while isinstance(named, ast.Member) and not named.conditional:
            parts.append(named.name)
            named = named.target
        if not isinstance(named, ast.Name):
            raise self.error(node, "typeof takes a type name, such as typeof(System.Xml.XmlNode)")
        parts.append(named.name)
        value = ClrType(".".join(reversed(parts)))
        return lambda frame: value

    def _call_Id(self, node: ast.Call) -> Evaluator:
        (document,) = self._arguments(node, 1, 1)
        return lambda frame: member(document(frame), "Id")

    def _call_MetadataFor(self, node: ast.Call) -> Evaluator:
        (document,) = self._arguments(node, 1, 1)
        return lambda frame: element(document(frame), "@metadata")

    def _call_CreateField(self, node: ast.Call) -> Evaluator:
        arguments = self._arguments(node, 2, 4)

        def create(frame: Frame) -> CreatedField:
            values = [argument(frame) for argument in arguments]
            name = values[0]
            if not isinstance(name, str) or not name:
                raise LinqRuntimeError("CreateField needs a field name")
            options: dict[str, Any] | None = None
            if len(values) == 3 and isinstance(values[2], dict):
                options = values[2]
            elif len(values) >= 3:
                stored = values[2] is True
                analyzed = len(values) == 4 and values[3] is True
                options = {"Storage": "Yes" if stored else "No", "Indexing": "Search" if analyzed else "Exact"}
            return CreatedField(name, index_value(values[1]), options)

        return create

    def _call_CreateVector(self, node: ast.Call) -> Evaluator:
        if self.property_name != "Maps":
            raise self.error(node, "Vector fields are not supported in a reduce (RavenDB's rule)")
        (value,) = self._arguments(node, 1, 1)
        return lambda frame: VectorInput(index_value(value(frame)))

    def _call_LoadVector(self, node: ast.Call) -> Evaluator:
        if self.property_name != "Maps":
            raise self.error(node, "Vector fields are not supported in a reduce (RavenDB's rule)")
        arguments = self._arguments(node, 2, 3)
        for argument in node.arguments[:2]:
            if not isinstance(argument, ast.Literal) or not isinstance(argument.value, str):
                raise self.error(node, "LoadVector takes the field name and the task identifier as string literals")
        field_name, task = (str(argument.value) for argument in node.arguments[:2]  # type: ignore[union-attr]
                            )
        related = arguments[2] if len(arguments) == 3 else None
        if related is not None:
            self.references = None  # the related document's embeddings live in its collection's @embeddings
        else:
            self.loads_own_vectors = True

        def load_vector(frame: Frame) -> VectorInput | None:
            source = frame[SOURCE_SLOT] if related is None else related(frame)
            if isinstance(source, dict):
                source_id = member(source, "Id")
            elif isinstance(source, str):
                source_id = source
            else:
                return None
            return VectorInput(field_name, task, source_id if isinstance(source_id, str) else None)

        return load_vector

    # ---- query syntax

    def _Query(self, node: ast.Query) -> Evaluator:
        self.open_scope()
        try:
            run = self._body([node.first, *node.body.clauses], node.body)
        finally:
            self.close_scope()

        def query(frame: Frame) -> list[Any]:
            out: list[Any] = []
            run(frame, out)
            return out

        return query

    def _body(self, clauses: Sequence[ast.FromClause | ast.LetClause | ast.WhereClause | ast.OrderByClause],
              body: ast.QueryBody) -> _Step:
        """The step running ``clauses`` then ``body``'s final clause and continuation into ``out``."""
        steps: list[Callable[[_Step], _Step]] = []
        for clause in clauses:
            steps.append(self._clause(clause))
        final = body.final
        grouping = isinstance(final, ast.GroupClause)
        if isinstance(final, ast.GroupClause):
            element_of, key_of = self.expr(final.element), self.expr(final.key)

            def collect_pair(frame: Frame, sink: list[Any]) -> None:
                sink.append((key_of(frame), element_of(frame)))

            last: _Step = collect_pair
        else:
            value_of = self.expr(final.value)

            def collect(frame: Frame, sink: list[Any]) -> None:
                sink.append(value_of(frame))

            last = collect
        for make in reversed(steps):
            last = make(last)
        chain = last
        continuation = body.continuation
        if continuation is None:
            if not grouping:
                return chain

            def groups_only(frame: Frame, out: list[Any]) -> None:
                pairs: list[Any] = []
                chain(frame, pairs)
                out.extend(_groups(pairs))

            return groups_only
        self.open_scope()
        try:
            slot = self.declare(continuation.name)
            rest = self._body(continuation.body.clauses, continuation.body)
        finally:
            self.close_scope()

        def continued(frame: Frame, out: list[Any]) -> None:
            sink: list[Any] = []
            chain(frame, sink)
            for value in (_groups(sink) if grouping else sink):
                frame[slot] = value
                rest(frame, out)

        return continued

    def _clause(self, clause: ast.FromClause | ast.LetClause | ast.WhereClause | ast.OrderByClause,
                ) -> Callable[[_Step], _Step]:
        if isinstance(clause, ast.FromClause):
            source = self.expr(clause.source)
            slot = self.declare(clause.name)

            def from_step(then: _Step) -> _Step:
                def run(frame: Frame, sink: list[Any]) -> None:
                    for item in iterate(source(frame)):
                        frame[slot] = item
                        then(frame, sink)

                return run

            return from_step
        if isinstance(clause, ast.LetClause):
            value = self.expr(clause.value)
            slot = self.declare(clause.name)

            def let_step(then: _Step) -> _Step:
                def run(frame: Frame, sink: list[Any]) -> None:
                    frame[slot] = value(frame)
                    then(frame, sink)

                return run

            return let_step
        if isinstance(clause, ast.WhereClause):
            condition = self.expr(clause.condition)

            def where_step(then: _Step) -> _Step:
                def run(frame: Frame, sink: list[Any]) -> None:
                    if truthy(condition(frame)):
                        then(frame, sink)

                return run

            return where_step
        raise self.error(clause, "'orderby' is not supported in an index: an index orders when it is queried")


def _groups(pairs: list[tuple[Any, Any]]) -> list[Grouping]:
    return group_by(pairs, lambda pair: pair[0], lambda pair: pair[1])

