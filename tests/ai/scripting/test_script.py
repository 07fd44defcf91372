"""EmbeddingsScript shared by threads, used from event loops, closed and reopened."""

import asyncio
import threading

import pytest

from rookdb.ai.scripting import EmbeddingsScript, ScriptOutput
from rookdb.errors import ScriptError
from tests.support.scripting import DOCS_EXAMPLE, MEMORY_LIMIT_BYTES, PRODUCT, TIME_LIMIT_MS, only, run


def test_closed_script_rebuilds_on_next_run() -> None:
    compiled = EmbeddingsScript(
        "embeddings.generate({ A: this.Name });",
        time_limit_ms=TIME_LIMIT_MS,
        memory_limit_bytes=MEMORY_LIMIT_BYTES,
    )
    compiled.close()
    assert only(compiled.run(PRODUCT), "A").texts == ("Chai",)
    compiled.close()


def test_one_script_shared_by_threads() -> None:
    compiled = EmbeddingsScript(
        DOCS_EXAMPLE, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    )
    results: dict[int, list[str]] = {}

    def work(worker: int) -> None:
        names = [f"product {worker}-{i}" for i in range(50)]
        results[worker] = [only(compiled.run({**PRODUCT, "Name": n}), "Name").texts[0] for n in names]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    compiled.close()
    assert results == {w: [f"product {w}-{i}" for i in range(50)] for w in range(4)}


def test_works_when_called_from_an_event_loop() -> None:
    async def inside_loop() -> ScriptOutput:
        with EmbeddingsScript(
            "while (this.Spin) {} embeddings.generate({ A: this.Name });",
            time_limit_ms=TIME_LIMIT_MS,
            memory_limit_bytes=MEMORY_LIMIT_BYTES,
        ) as compiled:
            with pytest.raises(ScriptError, match="time limit"):
                compiled.run({"Spin": True})
            return compiled.run(PRODUCT)

    assert only(asyncio.run(inside_loop()), "A").texts == ("Chai",)


def test_runs_over_many_northwind_like_documents() -> None:
    documents = [{**PRODUCT, "Name": f"Product {i}", "Tags": [f"t{i}"]} for i in range(500)]
    outputs = [run(DOCS_EXAMPLE, d) for d in documents]
    assert [only(o, "Name").texts[0] for o in outputs] == [d["Name"] for d in documents]
