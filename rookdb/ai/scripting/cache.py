"""Compiled embeddings scripts kept for reuse by `run_embeddings_script`."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from rookdb.ai.scripting.output import ScriptOutput
from rookdb.ai.scripting.script import EmbeddingsScript

__all__ = ["clear_script_cache", "run_embeddings_script"]

# Compiled scripts kept by run_embeddings_script; a task uses one, a few tasks share the process.
_MAX_CACHED_SCRIPTS = 16

_cache: OrderedDict[tuple[str, int, int], EmbeddingsScript] = OrderedDict()
_cache_lock = threading.Lock()


def run_embeddings_script(
    script: str, document: Mapping[str, Any], *, time_limit_ms: int, memory_limit_bytes: int
) -> ScriptOutput:
    """Run ``script`` against ``document``, reusing the compiled script of earlier calls.

    Compiled scripts are cached per (script, limits), least recently used dropped past
    ``_MAX_CACHED_SCRIPTS``. Raises `ScriptError` as `EmbeddingsScript` does.
    """
    key = (script, time_limit_ms, memory_limit_bytes)
    with _cache_lock:
        compiled = _cache.get(key)
        if compiled is not None:
            _cache.move_to_end(key)
    if compiled is None:
        # Compiled outside the cache lock: a slow or broken script must not stall other tasks.
        fresh = EmbeddingsScript(script, time_limit_ms=time_limit_ms, memory_limit_bytes=memory_limit_bytes)
        evicted: list[EmbeddingsScript] = []
        with _cache_lock:
            compiled = _cache.setdefault(key, fresh)
            _cache.move_to_end(key)
            while len(_cache) > _MAX_CACHED_SCRIPTS:
                evicted.append(_cache.popitem(last=False)[1])
        if compiled is not fresh:
            evicted.append(fresh)
        for old in evicted:
            old.close()
    return compiled.run(document)


def clear_script_cache() -> None:
    """Drop every compiled script kept by `run_embeddings_script` and free their engines."""
    with _cache_lock:
        scripts = list(_cache.values())
        _cache.clear()
    for compiled in scripts:
        compiled.close()
