"""Counting input tokens the provider did not report: exactly with the bundled tokenizer, else estimated."""

from __future__ import annotations

import pytest

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.ai.tokens import TokenCount, count_tokens, has_tokenizer

TEXTS = ["Chai", "passage: Gorgonzola Telino is a soft Italian cheese", "x" * 3000]


@pytest.mark.parametrize("model", [None, "sentence-transformers/all-MiniLM-L6-v2", "all-minilm:latest"])
def test_the_bundled_tokenizer_counts_as_the_model_does(model: str | None) -> None:
    assert has_tokenizer(model)
    expected = sum(get_embedded_model().count_tokens(text) for text in TEXTS)
    assert count_tokens(model, TEXTS) == TokenCount(expected, estimated=False)


def test_other_models_are_estimated_as_length_over_four() -> None:
    assert not has_tokenizer("text-embedding-3-small")
    assert count_tokens("text-embedding-3-small", TEXTS) == TokenCount(sum(len(t) // 4 for t in TEXTS), True)


def test_nothing_counts_nothing() -> None:
    assert count_tokens("text-embedding-3-small", []) == TokenCount(0, False)
