"""Compiled scripts kept for reuse by run_embeddings_script."""

from rookdb.ai.scripting import cache, clear_script_cache
from tests.support.scripting import only, run

# --- reuse ---


def test_compiled_script_is_reused() -> None:
    script = (
        "globalThis.runs = (globalThis.runs || 0) + 1; embeddings.generate({ N: String(globalThis.runs) });"
    )
    counts = [only(run(script), "N").texts[0] for _ in range(3)]
    assert counts == ["1", "2", "3"]


def test_cache_keeps_a_bounded_number_of_scripts() -> None:
    clear_script_cache()
    for i in range(cache._MAX_CACHED_SCRIPTS + 3):
        run(f"embeddings.generate({{ N: '{i}' }});")
    assert len(cache._cache) == cache._MAX_CACHED_SCRIPTS
    clear_script_cache()
    assert len(cache._cache) == 0
