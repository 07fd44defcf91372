"""Choosing the front end: LINQ maps and reduces compile in-process, JavaScript ones in the script host."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.errors import IndexCompilationError
from rookdb.indexes.linq.compiler import compile_map, compile_reduce
from rookdb.indexes.static.mapping import IndexMap, IndexReduce

__all__ = ["compile_maps"]


def compile_maps(wire: Mapping[str, Any]) -> tuple[list[IndexMap], IndexReduce | None]:
    """The compiled maps and reduce of a normalized definition (``normalize_definition``)."""
    index_type = str(wire["Type"])
    maps: list[str] = list(wire["Maps"])
    reduce_text: str | None = wire.get("Reduce")
    if index_type.startswith("JavaScript"):
        from rookdb.indexes.static.javascript.compiler import compile_javascript

        return compile_javascript(maps, reduce_text, wire.get("AdditionalSources") or {})
    compiled: list[IndexMap] = [compile_map(text) for text in maps]
    reduce = compile_reduce(reduce_text) if reduce_text else None
    _check_reduce_fields(compiled, reduce)
    return compiled, reduce


def _check_reduce_fields(maps: list[IndexMap], reduce: IndexReduce | None) -> None:
    """RavenDB's rule: every map of a map-reduce index produces the fields its reduce produces."""
    if reduce is None or not reduce.field_names:
        return
    wanted = set(reduce.field_names)
    for compiled in maps:
        if compiled.field_names and set(compiled.field_names) != wanted:
            missing = sorted(wanted - set(compiled.field_names))
            extra = sorted(set(compiled.field_names) - wanted)
            detail = "; ".join(part for part in (
                f"missing {', '.join(missing)}" if missing else "",
                f"extra {', '.join(extra)}" if extra else "") if part)
            raise IndexCompilationError(
                f"Map and Reduce functions of an index must return identical types: the map over "
                f"'{compiled.collection or '@all_docs'}' differs from the reduce ({detail})",
                definition_property="Maps")
