"""Layers are packages and imports only point down: server → documents → query/ai → indexes → storage;
server → security.

The top-level modules have their places too, and no module imports itself back through others.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rookdb"

# What each layer may import besides itself; the shared modules (errors, settings, background, frames, wire,
# inline) sit below all layers.
SHARED = {"errors", "settings", "background", "frames", "wire", "inline"}
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "indexes": {"storage"},
    "query": {"indexes", "storage"},
    "ai": {"storage"},
    "documents": {"query", "indexes", "ai", "storage"},
    "security": set(),  # certificates and authorization know nothing of the data they guard
    # HTTP over the documents layer's awaitable facade (``documents/async_database.py``), guarded by security.
    "server": {"documents", "studio", "security"},
    "studio": set(),
    "testing": {"server", "documents", "query", "indexes", "ai", "storage", "security"},  # drives the whole stack
}
# What each top-level module may import (the shared modules are not implied here).
TOP_LEVEL: dict[str, set[str]] = {
    "__init__": {"in_process"},
    "__main__": {"cli"},
    "errors": set(),
    "frames": set(),
    "wire": {"errors"},
    "inline": set(),
    "settings": {"errors"},
    "background": {"errors", "settings"},
    "tasks_watch": {"errors"},
    "tasks_plan": {"errors", "tasks_watch"},
    "in_process": {"server", "settings"},
    "cli": {"documents", "storage", "server", "security", "tasks_watch", "tasks_plan", "errors", "settings"},
}


def _imports(tree: ast.Module, *, lazy: bool) -> Iterator[tuple[str, str | None, int]]:
    """(module, imported name or None, line) of every absolute import; ``lazy`` includes those made
    inside functions, which run only when called."""
    nodes: list[ast.AST] = list(ast.walk(tree)) if lazy else list(_module_level(tree.body))
    for node in nodes:
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                yield node.module, alias.name, node.lineno


def _module_level(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Statements run at import time: the module body and its ``if``/``try`` blocks (``TYPE_CHECKING`` too)."""
    for statement in body:
        yield statement
        if isinstance(statement, ast.If | ast.Try):
            for block in (statement.body, statement.orelse, getattr(statement, "finalbody", [])):
                yield from _module_level(block)


def imported_layers(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[tuple[str, int]] = set()
    for module, _, line in _imports(tree, lazy=True):
        parts = module.split(".")
        if parts[0] == "rookdb" and len(parts) > 1:
            found.add((parts[1], line))
    return found


def layer_files() -> list[tuple[str, Path]]:
    return [(layer, path) for layer in ALLOWED for path in sorted((PACKAGE / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), layer_files(), ids=lambda value: str(value).split("rookdb/")[-1])
def test_imports_only_point_down(layer: str, path: Path) -> None:
    allowed = ALLOWED[layer] | SHARED | {layer}
    upward = sorted((name, line) for name, line in imported_layers(path) if name not in allowed)
    where = path.relative_to(PACKAGE.parent)
    assert not upward, f"{where} imports {upward} (layer '{layer}' may use {sorted(allowed)})"


@pytest.mark.parametrize("module", sorted(TOP_LEVEL))
def test_top_level_modules_import_only_their_part(module: str) -> None:
    path = PACKAGE / f"{module}.py"
    found = sorted((name, line) for name, line in imported_layers(path) if name not in TOP_LEVEL[module])
    assert not found, f"rookdb/{module}.py imports {found} (it may use {sorted(TOP_LEVEL[module])})"


def test_every_package_is_a_known_layer_and_every_module_a_known_one() -> None:
    packages = {entry.name for entry in PACKAGE.iterdir() if (entry / "__init__.py").exists()}
    assert packages <= set(ALLOWED), sorted(packages - set(ALLOWED))
    modules = {entry.stem for entry in PACKAGE.glob("*.py")}
    assert modules == set(TOP_LEVEL), sorted(modules ^ set(TOP_LEVEL))


def test_server_never_touches_sqlite_or_httpx() -> None:
    for path in (PACKAGE / "server").rglob("*.py"):
        text = path.read_text()
        assert "import sqlite3" not in text and "import httpx" not in text, path


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module → the rookdb modules it imports when it is imported (function-level imports are lazy
    by intent and left out). The root package is left out as a target: every module imports it first
    anyway, and it only declares ``__version__`` and lazy attributes."""
    modules = {module_name(path): path for path in PACKAGE.rglob("*.py") if "static" not in path.parts}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        targets: set[str] = set()
        for module, imported, _ in _imports(ast.parse(path.read_text()), lazy=False):
            if imported is not None and f"{module}.{imported}" in modules:
                targets.add(f"{module}.{imported}")  # ``from rookdb.documents import catalog``
            elif module in modules:
                targets.add(module)
        graph[name] = targets - {"rookdb"}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module, or a module importing itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycles() -> None:
    assert cycles(import_graph()) == []


def test_the_cycle_check_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}) == [["a", "b", "c"], ["e"]]


def test_only_the_postgresql_backend_touches_psycopg() -> None:
    backend = PACKAGE / "storage" / "postgresql"
    for path in PACKAGE.rglob("*.py"):
        if backend in path.parents:
            continue
        tree = ast.parse(path.read_text(), filename=str(path))
        imported = {module.split(".")[0] for module, _, _ in _imports(tree, lazy=True)}
        assert "psycopg" not in imported, path


def test_tests_share_helpers_through_support_never_a_conftest() -> None:
    tests = Path(__file__).resolve().parent
    for path in tests.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        assert not [line for module, _, line in _imports(tree, lazy=True) if module.endswith(".conftest")], path
