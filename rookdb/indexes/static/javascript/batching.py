"""Requests to an index's script engine, each carrying many items (documents to map, outputs to key,
groups to reduce), so the engine is called once per batch rather than once per document.

The engine's time and memory limits apply to each request, and RavenDB's limits are per document: a
request of several items that the engine cannot finish (time or memory limit, crash, an answer that
cannot be written) is sent again one item per request, so only the culprit fails and the others are
answered as if they had been sent alone. Requests are sized from the time items took so far, so that
one stays well inside the time limit and slow maps do not keep paying for a failed batch.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import orjson

from rookdb.errors import ScriptError

__all__ = ["MAX_REQUEST_BYTES", "MAX_REQUEST_ITEMS", "EngineBatches", "ItemAnswer"]

MAX_REQUEST_ITEMS = 512
"""Items in one engine request at most."""
MAX_REQUEST_BYTES = 1 << 20
"""Request JSON at most (a single larger item still goes alone): the engine parses and answers it inside
the index engine's heap limit."""
_TIME_SHARE = 0.25
"""The share of the time limit a request is sized to take, from the time items took so far."""

ItemAnswer = dict[str, Any] | ScriptError
"""The engine's answer to one item (``{"error": ...}`` when the script threw on it), or the
`ScriptError` that stopped the engine on it."""


class _Engine(Protocol):
    def run_raw(self, payloads: Sequence[str]) -> list[str | ScriptError]:
        ...


class EngineBatches:
    """Sends items to one script in requests of many; safe to share between threads as the script is."""

    def __init__(self, script: _Engine, *, time_limit_ms: int, label: str) -> None:
        """``label`` names the script in error messages."""
        self._script = script
        self._label = label
        self._budget_s = time_limit_ms / 1000 * _TIME_SHARE
        self._items_per_request = MAX_REQUEST_ITEMS

    def run(self, request: Mapping[str, Any], items: Sequence[Any]) -> list[ItemAnswer]:
        """The answer to each item of ``request`` (an ``op`` and its arguments, the items added)."""
        encoded = [orjson.dumps(item) for item in items]
        head = orjson.dumps({**request, "items": []})[: -len(b"[]}")] + b"["
        chunks = list(self._chunks(encoded, len(head)))
        answers: list[ItemAnswer | None] = [None] * len(items)
        alone: list[int] = []
        for (start, end), reply in zip(chunks, self._send(head, encoded, chunks), strict=True):
            replies = _answers(reply, end - start)
            if replies is not None:
                answers[start:end] = replies
            elif end - start > 1:
                alone.extend(range(start, end))
            else:
                answers[start] = self._failure(reply)
        if alone:
            # Narrower requests until one succeeds: the failed ones may have been too big for the limits.
            widest = max(end - start for start, end in chunks)
            self._items_per_request = max(1, min(self._items_per_request, widest // 4))
            singles = [(index, index + 1) for index in alone]
            for index, reply in zip(alone, self._send(head, encoded, singles), strict=True):
                replies = _answers(reply, 1)
                answers[index] = replies[0] if replies is not None else self._failure(reply)
        return [answer if answer is not None else ScriptError(f"{self._label} was not run") for answer in answers]

    def _failure(self, reply: str | ScriptError) -> ItemAnswer:
        """A single item's request that failed as a whole: the engine's error, or the prelude's."""
        if isinstance(reply, ScriptError):
            return reply
        decoded = _decoded(reply)
        if isinstance(decoded, dict) and isinstance(decoded.get("error"), dict):
            return decoded
        return ScriptError(f"{self._label} gave an answer that cannot be read")

    def _chunks(self, encoded: list[bytes], head_size: int) -> Iterator[tuple[int, int]]:
        limit = self._items_per_request
        start, size = 0, head_size
        for index, item in enumerate(encoded):
            if index > start and (index - start >= limit or size + len(item) > MAX_REQUEST_BYTES):
                yield start, index
                start, size = index, head_size
            size += len(item) + 1
        if start < len(encoded):
            yield start, len(encoded)

    def _send(self, head: bytes, encoded: list[bytes], chunks: list[tuple[int, int]]) -> list[str | ScriptError]:
        payloads = [(head + b",".join(encoded[start:end]) + b"]}").decode() for start, end in chunks]
        started = time.perf_counter()
        replies = self._script.run_raw(payloads)
        if not any(isinstance(reply, ScriptError) for reply in replies):
            per_item = (time.perf_counter() - started) / max(1, sum(end - start for start, end in chunks))
            self._items_per_request = max(1, min(MAX_REQUEST_ITEMS, int(self._budget_s / max(per_item, 1e-9))))
        return replies


def _answers(reply: str | ScriptError, count: int) -> list[dict[str, Any]] | None:
    """The item answers of a request's reply, or None when the request as a whole failed."""
    if isinstance(reply, ScriptError):
        return None
    decoded = _decoded(reply)
    answers = decoded.get("answers") if isinstance(decoded, dict) else None
    if not isinstance(answers, list) or len(answers) != count:
        return None
    return answers




def _decoded(reply: str) -> Any:
    """The engine's JSON answer, or None when it is not JSON (an engine that answered nothing)."""
    try:
        return orjson.loads(reply)
    except orjson.JSONDecodeError:
        return None
