"""What a commit of a migration's batch holds the CPU for inside its write transaction: embeddings
documents holding a 384-dimension section (the serving generation) get a 256-dimension one staged beside
it, 128 documents per batch, as the building worker writes them (sections prepared before the
transaction, then ``write_batch``). Reported per batch, in thread CPU time: the whole transaction, the
longest stretch of ``write_batch`` between two pauses for requests (Python, holding the GIL for most of
it: what a query arriving meanwhile can wait behind) and the commit statement (SQLite writing its log,
without the GIL); written in one part, then in parts with pauses (nothing in flight here, so each pause
returns at once). The two ways alternate batch by batch on twin databases, so that load drift hits both alike.

Run: .venv/bin/python bench/embeddings_commit.py [--documents 5120]
"""

from __future__ import annotations

import argparse
import itertools
import random
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

from table import Table

from rookdb.ai.embeddings.batch import BatchPlan, DocumentPlan, prepare_sections, write_batch
from rookdb.ai.embeddings.cache import EmbeddingsCache
from rookdb.ai.embeddings.generations import Generation
from rookdb.ai.quantization import VectorEmbeddingType, encode, text_hash
from rookdb.storage.sqlite import SqliteStorage

BATCH = 128
SINGLE = VectorEmbeddingType.SINGLE
PERIOD = timedelta(days=90)


def batches(documents: int, dimensions: int, seed: int) -> Iterator[BatchPlan]:
    draw = random.Random(seed)
    for start in range(0, documents, BATCH):
        plans, texts, vectors = [], {}, {}
        for n in range(start, min(documents, start + BATCH)):
            text = f"product {n} ({dimensions})"
            digest = text_hash(text)
            plans.append(DocumentPlan(f"products/{n}-A", etag=n + 1, fields={"Name": [digest]}))
            texts[digest] = text
            vectors[digest] = encode([draw.uniform(-1, 1) for _ in range(dimensions)], SINGLE)
        yield BatchPlan(start + len(plans), plans, texts, vectors=vectors)


def commit(storage: SqliteStorage, plan: BatchPlan, connection_string: str, generation: Generation,
           pause: Callable[[], None] | None) -> tuple[float, float, float]:
    """Commit ``plan``: thread CPU seconds of the whole transaction, of the longest stretch of ``write_batch``
    between pauses, and of the commit itself (SQLite writing its log, the commit listeners)."""
    prepared = prepare_sections(storage, plan, task_identifier="names", source_collection="Products",
                                quantization=SINGLE, generation=generation)
    started = time.thread_time()

    def paused() -> None:
        marks.append(time.thread_time())
        if pause is not None:
            pause()

    with storage.write() as tx:
        marks = [time.thread_time()]
        write_batch(tx, EmbeddingsCache(storage), plan, task_identifier="names", source_collection="Products",
                    connection_string_identifier=connection_string, quantization=SINGLE, cache_period=PERIOD,
                    generation=generation, prepared=prepared, pause=paused if pause is not None else None)
        marks.append(time.thread_time())
    ended = time.thread_time()
    return ended - started, max(later - earlier for earlier, later in itertools.pairwise(marks)), ended - marks[-1]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=5120, help="documents moved to the new generation")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        ways = {"one part": SqliteStorage(Path(scratch) / "one.sqlite3"),
                "parts with pauses": SqliteStorage(Path(scratch) / "parts.sqlite3")}
        for storage in ways.values():
            for plan in batches(args.documents, 384, seed=1):
                commit(storage, plan, "old", Generation(), None)  # the serving generation
        figures: dict[str, list[tuple[float, float, float]]] = {name: [] for name in ways}
        staged = Generation(1, None, staged=True)
        for plan in batches(args.documents, 256, seed=2):
            for name, storage in ways.items():
                figures[name].append(commit(storage, plan, "new", staged,
                                            (lambda: None) if name == "parts with pauses" else None))
        table = Table(["commit of 128 documents", "batches", "transaction CPU ms p50 / p90",
                       "longest stretch of write_batch ms p50 / p90", "commit statement ms p50 / p90"])
        for name, rows in figures.items():
            cells = []
            for column in range(3):
                values = [row[column] * 1000 for row in rows]
                cells.append(f"{percentile(values, 0.5):.1f} / {percentile(values, 0.9):.1f}")
            table.row(name, str(len(rows)), *cells)
        for storage in ways.values():
            storage.close()


if __name__ == "__main__":
    main()
