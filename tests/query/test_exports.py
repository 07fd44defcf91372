"""The package's declared public surface matches reality."""

from __future__ import annotations

import rookdb.query
from rookdb.query import ast, executor, ordering, parser, paths


def test_all_is_sorted_and_real() -> None:
    for module in (rookdb.query, ast, executor, ordering, parser, paths):
        names = module.__all__
        assert names == sorted(names), module.__name__
        for name in names:
            assert hasattr(module, name), f"{module.__name__}.{name}"


def test_package_exports_every_public_name_it_defines() -> None:
    public = {
        name for name, value in vars(rookdb.query).items()
        if not name.startswith("_") and not isinstance(value, type(rookdb))
    }
    assert public == set(rookdb.query.__all__)
