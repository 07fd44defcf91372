"""Prompts of asymmetric embedding models: what goes before a document's text and before a query's.

Models such as E5, BGE v1.5, nomic-embed, mxbai-embed-large and Snowflake arctic-embed were trained
with one instruction for passages and another for search queries; embedding both bare (as RavenDB
does) costs retrieval quality. rookdb knows their published conventions by model name
(``CONVENTIONS``) and applies them on every connector, to task embeddings and to search terms. A
connection string's ``DocumentPrompt`` / ``QueryPrompt`` replace the convention; ``""`` means no
prompt.

A prompt is part of the text that is embedded, so it is part of the embeddings cache key: changing
it never serves a vector computed under another prompt.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from rookdb.ai.connection_strings import AiConnectionString

__all__ = [
    "CONVENTIONS",
    "PromptConvention",
    "Prompts",
    "convention_for",
    "document_prompt_changes",
    "normalized_model_name",
    "prompts_for",
]

_RETRIEVAL_INSTRUCTION = "Represent this sentence for searching relevant passages: "
# The Chinese BGE models' instruction ends with a full-width colon, as published.
_BGE_ZH_INSTRUCTION = "为这个句子生成表示以用于检索相关文章\uff1a"
_E5_INSTRUCT_QUERY = "Instruct: Given a web search query, retrieve relevant passages that answer the query\nQuery: "


@dataclass(frozen=True)
class PromptConvention:
    """A model family's published prompts; ``pattern`` matches normalized model names."""

    family: str
    pattern: str
    query: str
    document: str

    def matches(self, normalized_model: str) -> bool:
        return re.fullmatch(self.pattern, normalized_model) is not None


# Checked in order: the first match wins, so specific variants come before their family.
CONVENTIONS: tuple[PromptConvention, ...] = (
    # intfloat/e5-mistral-7b-instruct, multilingual-e5-large-instruct: an instruction on queries only.
    PromptConvention("E5 instruct", r"(multilingual-)?e5-.*instruct.*", _E5_INSTRUCT_QUERY, ""),
    # intfloat/e5-{small,base,large}[-v2], multilingual-e5-*: both sides prefixed.
    PromptConvention("E5", r"(multilingual-)?e5-.*", "query: ", "passage: "),
    # BAAI/bge-*-en[-v1.5]: the query instruction, nothing on documents. bge-m3 needs none.
    PromptConvention("BGE v1.5 (zh)", r"bge-(small|base|large)-zh(-v1\.5)?", _BGE_ZH_INSTRUCTION, ""),
    PromptConvention("BGE v1.5", r"bge-(small|base|large)-en(-v1\.5)?", _RETRIEVAL_INSTRUCTION, ""),
    # nomic-ai/nomic-embed-text-v1, -v1.5, -v2-moe and Ollama's nomic-embed-text.
    PromptConvention("nomic-embed", r"nomic-embed-text(-v[0-9.]+)?(-moe)?", "search_query: ", "search_document: "),
    # mixedbread-ai/mxbai-embed-large-v1 and Ollama's mxbai-embed-large.
    PromptConvention("mxbai-embed-large", r"mxbai-embed-large(-v1)?", _RETRIEVAL_INSTRUCTION, ""),
    # Snowflake arctic-embed 2.0 (and Ollama's snowflake-arctic-embed2): "query: " on queries.
    PromptConvention("arctic-embed v2", r"snowflake-arctic-embed(-[a-z]+)?(-v2\.0|2)", "query: ", ""),
    # Snowflake arctic-embed v1 and v1.5 (xs, s, m, m-long, l).
    PromptConvention("arctic-embed", r"snowflake-arctic-embed(-(xs|s|m|m-long|l))?(-v1\.5)?", _RETRIEVAL_INSTRUCTION,
                     ""),
)

PromptSource = Literal["convention", "connection string", "none"]


@dataclass(frozen=True)
class Prompts:
    """The prompts a connection string uses, and where each came from (``family`` for conventions)."""

    query: str = ""
    document: str = ""
    query_source: PromptSource = "none"
    document_source: PromptSource = "none"
    family: str | None = None

    def to_json(self) -> dict[str, object]:
        return {"QueryPrompt": self.query, "DocumentPrompt": self.document, "QueryPromptSource": self.query_source,
                "DocumentPromptSource": self.document_source, "PromptConvention": self.family}


def normalized_model_name(model: str) -> str:
    """``intfloat/e5-small-v2`` → ``e5-small-v2``; ``nomic-embed-text:latest`` → ``nomic-embed-text``.

    Lower-cased; an organisation or path prefix (``hf.co/…/``) and an Ollama tag (``:335m``) dropped.
    """
    name = model.strip().lower().rsplit("/", 1)[-1]
    return name.split(":", 1)[0]


def convention_for(model: str | None) -> PromptConvention | None:
    """The known convention of ``model`` (by name), or None for a symmetric or unknown model."""
    if not model:
        return None
    name = normalized_model_name(model)
    return next((convention for convention in CONVENTIONS if convention.matches(name)), None)


def prompts_for(connection_string: AiConnectionString) -> Prompts:
    """The prompts of ``connection_string``: its own ``QueryPrompt``/``DocumentPrompt`` where set
    (``""`` = none), else its model's convention, else none."""
    convention = convention_for(getattr(connection_string.settings, "model", None))
    query, query_source = _pick(connection_string.query_prompt, convention.query if convention else "")
    document, document_source = _pick(connection_string.document_prompt,
                                      convention.document if convention else "")
    uses_convention = "convention" in (query_source, document_source)
    return Prompts(query, document, query_source, document_source,
                   convention.family if convention and uses_convention else None)


def _pick(configured: str | None, conventional: str) -> tuple[str, PromptSource]:
    if configured is not None:
        return configured, "connection string"
    return conventional, "convention" if conventional else "none"


def document_prompt_changes(old: AiConnectionString, new: AiConnectionString) -> list[str]:
    """``["DocumentPrompt"]`` when the prompt put before documents differs (convention included):
    stored embeddings depend on it as they depend on the model."""
    return ["DocumentPrompt"] if prompts_for(old).document != prompts_for(new).document else []
