"""Declared public surfaces: every ``__all__`` names things that exist (ruff's RUF022 keeps it sorted)."""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import rookdb


def modules_with_all() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(rookdb.__path__, "rookdb."):
        if info.name.endswith("__main__") or ".studio.static" in info.name:
            continue
        names.append(info.name)
    return names


@pytest.mark.parametrize("name", modules_with_all())
def test_all_is_real(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if exported is None:
        return
    assert len(set(exported)) == len(exported), f"{name}.__all__ repeats a name"
    missing = [item for item in exported if not hasattr(module, item)]
    assert not missing, f"{name}.__all__ names missing attributes {missing}"


def test_top_level_surface() -> None:
    assert rookdb.__all__ == ["EmbeddedServer", "__version__", "embedded"]
    assert callable(rookdb.embedded)
