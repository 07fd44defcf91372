"""Engines started by a test module are freed when it ends."""

from collections.abc import Iterator

import pytest

from rookdb.ai.scripting import clear_script_cache


@pytest.fixture(autouse=True, scope="module")
def _free_engines() -> Iterator[None]:
    yield
    clear_script_cache()
