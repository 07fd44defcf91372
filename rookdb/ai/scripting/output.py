"""What one run of an embeddings script asked to embed: fields, their texts, chunking and prefixes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

__all__ = ["CHUNKING_METHODS", "ChunkingMethod", "ChunkingRequest", "FieldSource", "ScriptOutput"]

ChunkingMethod = Literal[
    "PlainTextSplit",
    "PlainTextSplitLines",
    "PlainTextSplitParagraphs",
    "MarkDownSplitLines",
    "MarkDownSplitParagraphs",
    "HtmlStrip",
]
CHUNKING_METHODS: frozenset[str] = frozenset(get_args(ChunkingMethod))


@dataclass(frozen=True)
class ChunkingRequest:
    """How the script asked for texts to be chunked, e.g. ``text.splitParagraphs(x, 2048, 128)``."""

    method: ChunkingMethod
    max_tokens: int
    overlap_tokens: int


@dataclass(frozen=True)
class FieldSource:
    """Texts for one field, how to chunk them and their context prefix.

    ``chunking`` is None for a raw value (``Name: this.Name``): chunk it with the task's default
    options. ``context_prefix`` is already resolved by precedence, trailing whitespace trimmed.
    """

    texts: tuple[str, ...]
    chunking: ChunkingRequest | None
    context_prefix: str | None


@dataclass(frozen=True)
class ScriptOutput:
    """What one document's run asked to embed: field name → its sources, in the script's order.

    A field usually has one source; an array mixing helpers (``[html.strip(a), markdown.splitLines(b)]``)
    or repeated ``embeddings.generate`` calls can give it several.
    """

    generated: bool
    fields: Mapping[str, tuple[FieldSource, ...]] = field(default_factory=dict)
