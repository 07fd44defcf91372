"""Layers are packages and imports only point down: server → documents → query/ai → indexes → storage;
server → security."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "rookdb"

# What each layer may import besides itself; the shared modules (errors, settings, background) sit below
# all layers.
SHARED = {"errors", "settings", "background"}
ALLOWED: dict[str, set[str]] = {
    "storage": set(),
    "indexes": {"storage"},
    "query": {"indexes", "storage"},
    "ai": {"storage"},
    "documents": {"query", "indexes", "ai", "storage"},
    "security": set(),  # certificates and authorization know nothing of the data they guard
    "server": {"documents", "query", "indexes", "ai", "storage", "studio", "security"},
    "studio": set(),
    # test support drives the whole stack
    "testing": {"server", "documents", "query", "indexes", "ai", "storage", "security"},
}


def imported_layers(path: Path) -> set[tuple[str, int]]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[tuple[str, int]] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[0] == "rookdb" and len(parts) > 1:
                found.add((parts[1], node.lineno))
    return found


def layer_files() -> list[tuple[str, Path]]:
    return [(layer, path) for layer in ALLOWED for path in sorted((PACKAGE / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), layer_files(), ids=lambda value: str(value).split("rookdb/")[-1])
def test_imports_only_point_down(layer: str, path: Path) -> None:
    allowed = ALLOWED[layer] | SHARED | {layer}
    upward = sorted((name, line) for name, line in imported_layers(path) if name not in allowed)
    where = path.relative_to(PACKAGE.parent)
    assert not upward, f"{where} imports {upward} (layer '{layer}' may use {sorted(allowed)})"


def test_every_package_is_a_known_layer() -> None:
    packages = {entry.name for entry in PACKAGE.iterdir() if (entry / "__init__.py").exists()}
    assert packages <= set(ALLOWED), sorted(packages - set(ALLOWED))


def test_server_never_touches_sqlite_or_httpx() -> None:
    for path in (PACKAGE / "server").rglob("*.py"):
        text = path.read_text()
        assert "import sqlite3" not in text and "import httpx" not in text, path
