"""Splitting text into chunks before embedding, with RavenDB's six chunking methods.

Tokens are never counted with a tokenizer: like RavenDB, a text of ``n`` characters is estimated
at ``n // 4`` tokens.

* ``PlainTextSplit`` cuts at whitespace so that each chunk holds at most ``0.75 * 4 * max`` chars
  (the 0.75 ratio leaves headroom for tokenizers denser than 4 chars per token). A word longer
  than that becomes a chunk of its own rather than being cut.
* ``PlainTextSplitLines``, ``PlainTextSplitParagraphs``, ``MarkDownSplitLines`` and
  ``MarkDownSplitParagraphs`` follow Semantic Kernel's ``TextChunker``, which RavenDB calls:
  over-long text is bisected at the separator nearest its middle, trying line breaks, then
  sentence ends, then ``?!``, ``;``, ``:``, commas, closing brackets, spaces, hyphens, and at last
  the raw middle. Paragraph methods then pack lines into paragraphs; their "overlap" appends the
  first ``overlap`` tokens of the next paragraph to each paragraph.
* ``HtmlStrip`` keeps the text nodes (entities decoded, ``script``/``style`` dropped), joined by
  single spaces, then applies ``PlainTextSplit``.

Empty or whitespace-only chunks are never produced. A context prefix is prepended to every chunk
after one space, and its estimated tokens (rounded up, plus the space) come off the chunk budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from html.parser import HTMLParser
from typing import Any

from rookdb.errors import ValidationError

__all__ = [
    "CHARS_PER_TOKEN",
    "DEFAULT_MAX_TOKENS_PER_CHUNK",
    "OVERLAP_METHODS",
    "PLAIN_TEXT_SPLIT_RATIO",
    "ChunkingMethod",
    "ChunkingOptions",
    "apply_context_prefix",
    "chunk",
    "estimate_tokens",
    "strip_html",
    "validate_chunking_options",
]

CHARS_PER_TOKEN = 4
PLAIN_TEXT_SPLIT_RATIO = 0.75
DEFAULT_MAX_TOKENS_PER_CHUNK = 512


class ChunkingMethod(StrEnum):
    """RavenDB's chunking methods; the values are the wire names."""

    PLAIN_TEXT_SPLIT = "PlainTextSplit"
    PLAIN_TEXT_SPLIT_LINES = "PlainTextSplitLines"
    PLAIN_TEXT_SPLIT_PARAGRAPHS = "PlainTextSplitParagraphs"
    MARK_DOWN_SPLIT_LINES = "MarkDownSplitLines"
    MARK_DOWN_SPLIT_PARAGRAPHS = "MarkDownSplitParagraphs"
    HTML_STRIP = "HtmlStrip"


OVERLAP_METHODS = frozenset({ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS, ChunkingMethod.MARK_DOWN_SPLIT_PARAGRAPHS})


def _read_int(data: dict[str, Any], key: str, default: int, field: str) -> int:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(f"{field}.{key}", f"must be an integer, got {value!r}")
    return value


@dataclass(frozen=True)
class ChunkingOptions:
    """How one value is chunked: method, token budget, overlap and an optional context prefix."""

    method: ChunkingMethod = ChunkingMethod.PLAIN_TEXT_SPLIT
    max_tokens_per_chunk: int = DEFAULT_MAX_TOKENS_PER_CHUNK
    overlap_tokens: int = 0
    context_prefix: str | None = None

    @classmethod
    def from_json(cls, data: Any, field: str = "ChunkingOptions") -> ChunkingOptions:
        """Read the wire object ``{"ChunkingMethod", "MaxTokensPerChunk", "OverlapTokens", "ContextPrefix"}``.

        Shape errors only; call ``validate_chunking_options`` for the rules. A missing or null
        ``ChunkingMethod`` means ``PlainTextSplit``, the C# enum's default, because the client
        cannot read a null method back.
        """
        if not isinstance(data, dict):
            raise ValidationError(field, f"must be an object, got {data!r}")
        raw_method = data.get("ChunkingMethod")
        try:
            method = ChunkingMethod.PLAIN_TEXT_SPLIT if raw_method is None else ChunkingMethod(raw_method)
        except ValueError:
            allowed = ", ".join(m.value for m in ChunkingMethod)
            raise ValidationError(f"{field}.ChunkingMethod", f"must be one of {allowed}, got {raw_method!r}") from None
        prefix = data.get("ContextPrefix")
        if prefix is not None and not isinstance(prefix, str):
            raise ValidationError(f"{field}.ContextPrefix", f"must be a string, got {prefix!r}")
        return cls(
            method=method,
            max_tokens_per_chunk=_read_int(data, "MaxTokensPerChunk", DEFAULT_MAX_TOKENS_PER_CHUNK, field),
            overlap_tokens=_read_int(data, "OverlapTokens", 0, field),
            context_prefix=prefix,
        )

    def to_json(self) -> dict[str, Any]:
        """The wire object, with every key present."""
        return {
            "ChunkingMethod": self.method.value,
            "MaxTokensPerChunk": self.max_tokens_per_chunk,
            "OverlapTokens": self.overlap_tokens,
            "ContextPrefix": self.context_prefix,
        }


def estimate_tokens(text: str) -> int:
    """RavenDB's token estimate: one token per four characters, rounded down."""
    return len(text) // CHARS_PER_TOKEN


def _normalized_prefix(prefix: str) -> str:
    return prefix.rstrip()


def _prefix_cost(prefix: str) -> int:
    # Rounded up, and the separating space counts: the budget must never be under-estimated.
    return -(-(len(prefix) + 1) // CHARS_PER_TOKEN)


def validate_chunking_options(options: ChunkingOptions, field: str = "ChunkingOptions") -> None:
    """Raise ``ValidationError`` naming the offending ``field.Key`` when ``options`` cannot work."""
    if not isinstance(options.method, ChunkingMethod):
        raise ValidationError(f"{field}.ChunkingMethod", f"unknown chunking method {options.method!r}")
    max_tokens, overlap = options.max_tokens_per_chunk, options.overlap_tokens
    if max_tokens < 1:
        raise ValidationError(f"{field}.MaxTokensPerChunk", f"must be at least 1, got {max_tokens}")
    if overlap < 0:
        raise ValidationError(f"{field}.OverlapTokens", f"cannot be negative, got {overlap}")
    if overlap > 0 and options.method not in OVERLAP_METHODS:
        allowed = " and ".join(sorted(m.value for m in OVERLAP_METHODS))
        raise ValidationError(
            f"{field}.OverlapTokens", f"is only supported by {allowed}, not by {options.method.value}"
        )
    if overlap >= max_tokens:
        raise ValidationError(
            f"{field}.OverlapTokens", f"must be less than MaxTokensPerChunk ({max_tokens}), got {overlap}"
        )
    if options.context_prefix is None:
        return
    prefix = _normalized_prefix(options.context_prefix)
    if not prefix.strip():
        raise ValidationError(f"{field}.ContextPrefix", "cannot be empty or whitespace; omit it instead")
    remaining = max_tokens - _prefix_cost(prefix)
    if remaining < 1:
        raise ValidationError(
            f"{field}.ContextPrefix",
            f"takes {_prefix_cost(prefix)} tokens with its separating space and leaves no room "
            f"for text within MaxTokensPerChunk ({max_tokens})",
        )
    if overlap >= remaining:
        raise ValidationError(
            f"{field}.OverlapTokens",
            f"must be less than the {remaining} tokens left after the context prefix, got {overlap}",
        )


def apply_context_prefix(texts: Sequence[str], prefix: str) -> list[str]:
    """Prefix values that are embedded whole (not chunked); their budget is not reduced."""
    normalized = _normalized_prefix(prefix)
    if not normalized.strip():
        raise ValidationError("ContextPrefix", "cannot be empty or whitespace; omit it instead")
    return [f"{normalized} {text}" for text in texts]


def chunk(text_or_texts: str | Sequence[str], options: ChunkingOptions) -> list[str]:
    """Chunk one value or a list of values with ``options``; the prefix, if any, is applied.

    Paragraph methods pack a list's items together (one item may share a chunk with the next);
    the other methods chunk each item on its own and concatenate the results.
    """
    validate_chunking_options(options)
    texts = [text_or_texts] if isinstance(text_or_texts, str) else list(text_or_texts)
    prefix = None if options.context_prefix is None else _normalized_prefix(options.context_prefix)
    budget = options.max_tokens_per_chunk - (_prefix_cost(prefix) if prefix is not None else 0)
    chunks = [c for c in _chunk_texts(texts, options.method, budget, options.overlap_tokens) if c.strip()]
    return chunks if prefix is None else [f"{prefix} {c}" for c in chunks]


def _chunk_texts(texts: list[str], method: ChunkingMethod, max_tokens: int, overlap: int) -> list[str]:
    if method is ChunkingMethod.PLAIN_TEXT_SPLIT_PARAGRAPHS:
        lines = [t.replace("\r\n", "\n").replace("\r", "\n") for t in texts]
        return _split_paragraphs(lines, max_tokens, overlap, _PLAIN_TEXT_SEPARATORS)
    if method is ChunkingMethod.MARK_DOWN_SPLIT_PARAGRAPHS:
        return _split_paragraphs(texts, max_tokens, overlap, _MARKDOWN_SEPARATORS)
    out: list[str] = []
    for text in texts:
        if method is ChunkingMethod.PLAIN_TEXT_SPLIT:
            out += _split_plain_text(text, max_tokens)
        elif method is ChunkingMethod.HTML_STRIP:
            out += _split_plain_text(strip_html(text), max_tokens)
        elif method is ChunkingMethod.PLAIN_TEXT_SPLIT_LINES:
            out += _split_plain_text_lines(text, max_tokens)
        else:
            out += _split_lines(text, max_tokens, True, _MARKDOWN_SEPARATORS)
    return out


def _split_plain_text(text: str, max_tokens: int) -> list[str]:
    limit = max(1, int(max_tokens * CHARS_PER_TOKEN * PLAIN_TEXT_SPLIT_RATIO))
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(rest) <= limit:
            chunks.append(rest)
            break
        cut = next((i for i in range(limit, 0, -1) if rest[i].isspace()), 0)
        if cut == 0:
            # The first word alone is over the limit: keep it whole, up to the next whitespace.
            cut = next((i for i in range(limit + 1, len(rest)) if rest[i].isspace()), len(rest))
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    return chunks


# Semantic Kernel's split options, coarsest first: each string is a set of separator characters
# (with the ideographic and fullwidth full stop and comma variants), ``None`` means "cut in the
# middle". Markdown tries line breaks last, to keep blocks together.
_SENTENCE_ENDS = ".\u3002\uff0e"
_COMMAS = ",\uff0c\u3001"
_PLAIN_TEXT_SEPARATORS: tuple[str | None, ...] = (
    "\n",
    _SENTENCE_ENDS,
    "?!",
    ";",
    ":",
    _COMMAS,
    ")]}",
    " ",
    "-",
    None,
)
_MARKDOWN_SEPARATORS: tuple[str | None, ...] = (
    _SENTENCE_ENDS,
    "?!",
    ";",
    ":",
    _COMMAS,
    ")]}",
    " ",
    "-",
    "\n\r",
    None,
)


def _split_plain_text_lines(text: str, max_tokens: int) -> list[str]:
    out: list[str] = []
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        trimmed = line.strip()
        if not trimmed:
            continue
        if estimate_tokens(trimmed) > max_tokens:
            out += _split_lines(trimmed, max_tokens, True, _PLAIN_TEXT_SEPARATORS)
        else:
            out.append(trimmed)
    return out


def _split_lines(text: str, max_tokens: int, trim: bool, separator_sets: tuple[str | None, ...]) -> list[str]:
    """Bisect over-long pieces with each separator set in turn until every piece fits."""
    pieces = [text.replace("\r\n", "\n")]
    for separators in separator_sets:
        next_pieces: list[str] = []
        any_over = False
        for piece in pieces:
            parts, over = _bisect(piece, max_tokens, separators, trim)
            next_pieces += parts
            any_over |= over
        pieces = next_pieces
        if not any_over:
            break
    return pieces


def _bisect(text: str, max_tokens: int, separators: str | None, trim: bool) -> tuple[list[str], bool]:
    """Cut ``text`` recursively at the separator nearest the middle; report if a piece is still over."""
    out: list[str] = []
    still_over = False
    stack = [text]  # an explicit stack: long separator-poor texts would recurse too deep
    while stack:
        piece = stack.pop()
        over = estimate_tokens(piece) > max_tokens
        cut = _cut_point(piece, separators) if over else -1
        if cut > 0:
            first, second = piece[:cut], piece[cut:]
            if trim:
                first, second = first.strip(), second.strip()
            stack += [second, first]
            continue
        out.append(piece.strip() if trim else piece)
        still_over |= over
    return out, still_over


def _cut_point(text: str, separators: str | None) -> int:
    half = len(text) // 2
    if separators is None:
        return half
    cut = -1
    if len(text) > 2:
        # The last character is never a cut candidate, and a candidate is compared with the
        # best cut so far (one past its separator): both as Semantic Kernel does.
        for index in range(len(text) - 1):
            if text[index] in separators and abs(half - index) < abs(half - cut):
                cut = index + 1
    return cut


def _split_paragraphs(
    lines: list[str], max_tokens: int, overlap: int, separator_sets: tuple[str | None, ...]
) -> list[str]:
    if not lines:
        return []
    budget = max_tokens - overlap
    pieces = [p for line in lines for p in _split_lines(line, budget, False, separator_sets)]
    paragraphs = _pack_paragraphs(pieces, budget)
    _merge_short_tail(paragraphs, budget)
    if overlap <= 0:
        return paragraphs
    out: list[str] = []
    for paragraph, following in zip(paragraphs, [*paragraphs[1:], None], strict=True):
        head = _split_lines(following, overlap, False, separator_sets) if following is not None else []
        out.append(f"{paragraph} {head[0]}" if head else paragraph)
    return out


def _pack_paragraphs(lines: list[str], budget: int) -> list[str]:
    paragraphs: list[str] = []
    parts: list[str] = []
    length = 0  # characters in parts, newlines included
    for line in lines:
        if parts:
            tokens = estimate_tokens(line) + 1
            if tokens < budget:
                tokens += length // CHARS_PER_TOKEN
            if tokens >= budget:
                paragraphs.append("".join(parts).strip())
                parts, length = [], 0
        parts.append(line + "\n")
        length += len(line) + 1
    if parts:
        paragraphs.append("".join(parts).strip())
    return paragraphs


def _merge_short_tail(paragraphs: list[str], budget: int) -> None:
    """Fold a last paragraph under a quarter of the budget into the one before, when they fit."""
    if len(paragraphs) < 2 or estimate_tokens(paragraphs[-1]) >= budget // 4:
        return
    last = [w for w in paragraphs[-1].split(" ") if w]
    previous = [w for w in paragraphs[-2].split(" ") if w]
    if len(last) + len(previous) <= budget:
        paragraphs[-2] = " ".join(previous) + " " + " ".join(last)
        paragraphs.pop()


class _TextCollector(HTMLParser):
    _SKIPPED = frozenset({"script", "style"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIPPED:
            self._skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        text = data.strip()
        if text and not self._skipping:
            self.parts.append(text)


def strip_html(html: str) -> str:
    """The text of an HTML fragment: text nodes trimmed, entities decoded, joined by one space."""
    collector = _TextCollector()
    collector.feed(html)
    collector.close()
    return " ".join(collector.parts)
