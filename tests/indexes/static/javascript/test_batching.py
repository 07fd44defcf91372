"""Index scripts answered in batches by the real script host: one engine request per batch, limits and
failures still per document."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import orjson
import pytest

from rookdb.ai.scripting.index_engine import LABEL
from rookdb.ai.scripting.script import HostedScript
from rookdb.errors import ScriptError
from rookdb.indexes.static.javascript import batching
from rookdb.indexes.static.javascript.batching import EngineBatches

TIME_LIMIT_MS = 1000
SIZED_FOR_MS = 60_000
"""Requests are sized as if the limit were a minute, so that a loaded machine cannot narrow them."""


class RecordingScript:
    """The real hosted script, with the requests it was sent noted."""

    def __init__(self, script: HostedScript) -> None:
        self.script = script
        self.requests: list[int] = []

    def run_raw(self, payloads: Sequence[str]) -> list[str | ScriptError]:
        self.requests.extend(len(orjson.loads(payload)["items"]) for payload in payloads)
        return self.script.run_raw(payloads)


def hosted(map_text: str, reduce: str | None = None) -> Iterator[RecordingScript]:
    script = HostedScript(orjson.dumps({"maps": [map_text], "reduce": reduce, "sources": {}}).decode(),
                          time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=64 * 1024 * 1024, engine="index",
                          label=LABEL)
    try:
        yield RecordingScript(script)
    finally:
        script.close()


@pytest.fixture
def doubling() -> Iterator[RecordingScript]:
    yield from hosted("""map('Orders', o => {
        if (o.Spin) { while (true) {} }
        if (o.Throw) throw new Error('no ' + o.N);
        return { N: o.N * 2 };
    })""", "groupBy(x => x.K).aggregate(g => ({ K: g.key, N: g.values.reduce((a, v) => a + v.N, 0) }))")


def mapped(batches: EngineBatches, documents: list[dict[str, Any]]) -> list[Any]:
    answers = batches.run({"op": "map", "map": 0}, [{"doc": doc, "loaded": {}} for doc in documents])
    return [answer if isinstance(answer, ScriptError) else answer.get("outputs", answer.get("error"))
            for answer in answers]


def test_a_batch_of_documents_is_one_engine_request(doubling: RecordingScript) -> None:
    batches = EngineBatches(doubling, time_limit_ms=SIZED_FOR_MS, label=LABEL)
    assert mapped(batches, [{"N": n} for n in range(300)]) == [[{"N": n * 2}] for n in range(300)]
    assert doubling.requests == [300]


def test_a_document_that_throws_fails_alone_in_its_batch(doubling: RecordingScript) -> None:
    batches = EngineBatches(doubling, time_limit_ms=SIZED_FOR_MS, label=LABEL)
    answers = mapped(batches, [{"N": 1}, {"N": 2, "Throw": True}, {"N": 3}])
    assert answers[0] == [{"N": 2}] and answers[2] == [{"N": 6}]
    assert answers[1]["name"] == "Error" and answers[1]["message"] == "no 2"
    assert doubling.requests == [3]


def test_a_document_past_the_time_limit_fails_alone_and_the_others_are_answered(doubling: RecordingScript) -> None:
    batches = EngineBatches(doubling, time_limit_ms=SIZED_FOR_MS, label=LABEL)
    answers = mapped(batches, [{"N": 1}, {"N": 2, "Spin": True}, {"N": 3}])
    assert answers[0] == [{"N": 2}] and answers[2] == [{"N": 6}]
    assert isinstance(answers[1], ScriptError) and "time limit of 1000 ms" in answers[1].message
    # The batch, then each of its documents alone; the next batch is narrower, and once it succeeds in
    # far less than the time limit the one after is whole again.
    assert doubling.requests == [3, 1, 1, 1]
    for _ in range(2):
        assert mapped(batches, [{"N": n} for n in range(3)]) == [[{"N": n * 2}] for n in range(3)]
    assert doubling.requests[4:] == [1, 1, 1, 3]


def test_requests_are_bounded_in_items_and_bytes(doubling: RecordingScript, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(batching, "MAX_REQUEST_ITEMS", 4)
    monkeypatch.setattr(batching, "MAX_REQUEST_BYTES", 320)
    batches = EngineBatches(doubling, time_limit_ms=SIZED_FOR_MS, label=LABEL)
    assert mapped(batches, [{"N": n} for n in range(10)]) == [[{"N": n * 2}] for n in range(10)]
    assert doubling.requests == [4, 4, 2]
    padded = [{"N": n, "Pad": "x" * 100} for n in range(3)] + [{"N": 3, "Pad": "x" * 1000}]
    assert mapped(batches, padded) == [[{"N": n * 2}] for n in range(4)]
    assert doubling.requests[3:] == [2, 1, 1]


def test_keys_and_reduces_are_answered_per_item(doubling: RecordingScript) -> None:
    batches = EngineBatches(doubling, time_limit_ms=SIZED_FOR_MS, label=LABEL)
    assert batches.run({"op": "keys"}, [{"K": "a"}, {"N": 1}]) == [{"key": "a"}, {"key": None}]
    groups = [[{"K": "a", "N": 1}, {"K": "a", "N": 2}], [{"K": "b", "N": 5}]]
    assert batches.run({"op": "reduce"}, groups) == [{"results": [{"K": "a", "N": 3}]},
                                                     {"results": [{"K": "b", "N": 5}]}]
    assert doubling.requests == [2, 2]
