"""The clustered embedding set, built once per test session."""

from __future__ import annotations

import pytest

from tests.support.vectors import Dataset, build_dataset


@pytest.fixture(scope="session")
def dataset() -> Dataset:
    return build_dataset()
