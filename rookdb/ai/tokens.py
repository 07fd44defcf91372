"""Counting the input tokens of texts a provider did not count for us.

OpenAI-compatible APIs, Ollama and Vertex AI report the tokens of each request; Hugging Face's router
and Gemini do not. For those, rookdb counts with the model's own tokenizer where it ships one (the
bundled all-MiniLM-L6-v2 tokenizer, which is also the embedded model's), and otherwise estimates as
RavenDB does (length / 4), saying that it is an estimate.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from tokenizers import Tokenizer

from rookdb.ai.chunking import estimate_tokens
from rookdb.ai.embedded_model import EMBEDDED_MODEL_NAME, MAX_SEQUENCE_TOKENS, TOKENIZER_PATH
from rookdb.ai.prompts import normalized_model_name

__all__ = ["TokenCount", "count_tokens", "has_tokenizer"]

# Normalized model names the bundled tokenizer counts exactly (Ollama calls the model all-minilm).
_BUNDLED_TOKENIZER_MODELS = frozenset({normalized_model_name(EMBEDDED_MODEL_NAME), "all-minilm"})

_tokenizer: Tokenizer | None = None
_tokenizer_lock = threading.Lock()


@dataclass(frozen=True)
class TokenCount:
    """Tokens of some texts; ``estimated`` when counted as length / 4 rather than by the tokenizer."""

    tokens: int
    estimated: bool


def has_tokenizer(model: str | None) -> bool:
    """Whether rookdb counts ``model``'s tokens exactly (None is the embedded model)."""
    return model is None or normalized_model_name(model) in _BUNDLED_TOKENIZER_MODELS


def _bundled() -> Tokenizer:
    global _tokenizer
    if _tokenizer is None:
        with _tokenizer_lock:
            if _tokenizer is None:
                loaded = Tokenizer.from_file(str(TOKENIZER_PATH))
                loaded.enable_truncation(max_length=MAX_SEQUENCE_TOKENS)  # what the model sees
                loaded.no_padding()
                _tokenizer = loaded
    return _tokenizer


def count_tokens(model: str | None, texts: Sequence[str]) -> TokenCount:
    """The input tokens of ``texts`` for ``model`` ([CLS]/[SEP] included, as the model counts them)."""
    if not texts:
        return TokenCount(0, False)
    if has_tokenizer(model):
        return TokenCount(sum(len(encoding.ids) for encoding in _bundled().encode_batch(list(texts))), False)
    return TokenCount(sum(estimate_tokens(text) for text in texts), True)
