"""From a source document to the chunks a task embeds, field by field (paths mode or script mode)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from rookdb.ai.chunking import ChunkingMethod, ChunkingOptions, apply_context_prefix, chunk
from rookdb.ai.embeddings.failure_policy import Step
from rookdb.ai.scripting import EmbeddingsScript, FieldSource, ScriptOutput
from rookdb.ai.task_config import EmbeddingPathConfiguration, EmbeddingsGenerationConfiguration
from rookdb.errors import RookError, ValidationError
from rookdb.settings import Settings

__all__ = ["Extractor", "PathsExtractor", "ScriptExtractor", "create_extractor", "values_at"]

_BYTES_PER_MEGABYTE = 1024 * 1024


class Extractor(Protocol):
    """Turns one document into field → chunk texts. Raises a ``RookError`` (recorded as an item
    error under ``step``) when this document cannot be embedded."""

    step: Step

    def extract(self, document: Mapping[str, Any]) -> dict[str, list[str]]: ...

    def extract_many(self, documents: Sequence[Mapping[str, Any]]) -> list[dict[str, list[str]] | RookError]:
        """`extract` for a batch: each document's fields, or the error recorded for it."""
        ...

    def close(self) -> None: ...


def values_at(document: Mapping[str, Any], path: str) -> list[str]:
    """The texts at a dotted ``path`` (``Address.City``); arrays along the way are walked.

    Strings are taken as they are, numbers and booleans as their JSON text, nulls skipped; an object
    where text is expected is a ``ValidationError``.
    """
    nodes: list[Any] = [document]
    for part in path.split("."):
        following: list[Any] = []
        for node in nodes:
            if isinstance(node, list):
                following.extend(item.get(part) for item in node if isinstance(item, dict))
            elif isinstance(node, dict):
                following.append(node.get(part))
        nodes = following
    texts: list[str] = []
    pending = list(nodes)
    while pending:
        value = pending.pop(0)
        if value is None:
            continue
        if isinstance(value, str):
            texts.append(value)
        elif isinstance(value, bool):
            texts.append("true" if value else "false")
        elif isinstance(value, int | float):
            texts.append(repr(value) if isinstance(value, float) else str(value))
        elif isinstance(value, list):
            pending[:0] = value
        else:
            raise ValidationError(path, "holds an object; point the path at a text property")
    return texts


class PathsExtractor:
    """Paths mode: each configured path is chunked with its own options (context prefix included)."""

    step = Step.EXTRACTION

    def __init__(self, paths: tuple[EmbeddingPathConfiguration, ...]) -> None:
        self._paths = paths

    def extract(self, document: Mapping[str, Any]) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for entry in self._paths:
            texts = [text for text in values_at(document, entry.path) if text.strip()]
            chunks = chunk(texts, entry.chunking_options) if texts else []
            if chunks:
                fields[entry.path] = chunks
        return fields

    def extract_many(self, documents: Sequence[Mapping[str, Any]]) -> list[dict[str, list[str]] | RookError]:
        results: list[dict[str, list[str]] | RookError] = []
        for document in documents:
            try:
                results.append(self.extract(document))
            except RookError as error:
                results.append(error)
        return results

    def close(self) -> None:
        return None


class ScriptExtractor:
    """Script mode: the task's script says what to embed; raw values use the task's default options."""

    step = Step.TRANSFORMATION

    def __init__(self, script: EmbeddingsScript, defaults: ChunkingOptions) -> None:
        self._script = script
        self._defaults = defaults

    def _chunks(self, source: FieldSource) -> list[str]:
        texts = [text for text in source.texts if text.strip()]
        if not texts:
            return []
        if source.chunking is None:
            if source.context_prefix is not None:
                # A value that is not chunked is embedded whole with its prefix (RavenDB does not shorten it to fit).
                return apply_context_prefix(texts, source.context_prefix)
            return chunk(texts, self._defaults)
        request = source.chunking
        options = ChunkingOptions(ChunkingMethod(request.method), request.max_tokens, request.overlap_tokens,
                                  source.context_prefix)
        return chunk(texts, options)

    def extract(self, document: Mapping[str, Any]) -> dict[str, list[str]]:
        return self._fields(self._script.run(document))

    def extract_many(self, documents: Sequence[Mapping[str, Any]]) -> list[dict[str, list[str]] | RookError]:
        # One round trip to the script host for the whole batch.
        results: list[dict[str, list[str]] | RookError] = []
        for output in self._script.run_many(documents):
            if isinstance(output, RookError):
                results.append(output)
                continue
            try:
                results.append(self._fields(output))
            except RookError as error:
                results.append(error)
        return results

    def _fields(self, output: ScriptOutput) -> dict[str, list[str]]:
        fields: dict[str, list[str]] = {}
        for name, sources in output.fields.items():
            chunks = [piece for source in sources for piece in self._chunks(source)]
            if chunks:
                fields[name] = chunks
        return fields

    def close(self) -> None:
        self._script.close()


def create_extractor(task: EmbeddingsGenerationConfiguration, settings: Settings) -> Extractor:
    """The extractor of ``task``; a script that does not compile raises ``ScriptError``."""
    transformation = task.embeddings_transformation
    if transformation is None:
        return PathsExtractor(task.embeddings_path_configurations)
    script = EmbeddingsScript(
        transformation.script,
        time_limit_ms=int(settings["Ai.Embeddings.ScriptTimeoutInMs"]),
        memory_limit_bytes=int(settings["Ai.Embeddings.ScriptMemoryLimitInMb"]) * _BYTES_PER_MEGABYTE,
    )
    return ScriptExtractor(script, transformation.chunking_options)
