"""A model change while queries run: products' names embedded by the embedded model (384 dimensions), then
the task is moved to a 256-dimension OpenAI-protocol model on the local embedding server while the
official client queries in a loop: time from the update to the swap, from full coverage to the swap,
and query p50/p99 during the migration (until the clean-up after the swap stops writing) next to the
same queries without one, half before the update and half after the clean-up (goal: p99 during <= 2 x
p99 without, no error, no empty result). The p99 without a migration is the 40th slowest of 4,000
queries by default: each half's own p99 and a bootstrap interval of the ratio show how far it can be
trusted. The provider stands in for a remote one, so it runs on a core
of its own (the last one; rookdb and the client share the others): otherwise its model competes with
the queries for the cores and the ratio measures the stand-in rather than rookdb's migration work.

Run: .venv/bin/python bench/embeddings_migration.py [--documents 10000] [--queries 4000]
(the test suite runs --documents 60 --queries 30)
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from embeddings_task import (
    API_KEY,
    DATABASE,
    HTTP,
    MODEL_THREADS,
    POLL_SECONDS,
    RESULTS,
    TIMEOUT_SECONDS,
    products,
    progress,
    serving_products,
    wait_caught_up,
)
from ravendb import DocumentStore
from ravendb.documents.operations.ai import (
    AddEmbeddingsGenerationOperation,
    ChunkingMethod,
    ChunkingOptions,
    EmbeddingPathConfiguration,
    EmbeddingsGenerationConfiguration,
    UpdateEmbeddingsGenerationOperation,
)
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings
from ravendb.documents.operations.ai.open_ai_settings import OpenAiSettings
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.exceptions.raven_exceptions import RavenException
from table import Table

from rookdb.server.runner import free_port
from rookdb.testing.server_process import ChildProcess

MIGRATION_TERMS = ["spicy sauce", "sweet chocolate", "aged cheese from Normandy", "dark lager", "fresh pasta",
                   "coffee from Kyoto", "smoked sausage", "organic tea", "crab from Louisiana", "golden syrup"]
MIGRATION_SEARCH = "from Products where vector.search(embedding.text(Name, ai.task('products-bench')), $q)"
MIGRATION_DIMENSIONS = 256
MIGRATION_P99_GOAL = 2.0
MIGRATION_COLUMNS = ["documents", "migration s", "swap s", "queries without", "p50 without ms",
                     "p99 without ms (before / after)", "queries during", "p50 during ms", "p99 during ms",
                     "p99 ratio (90% interval)", "errors", "empty", "goal"]
# Resamples for the ratio's interval: enough for stable 5th/95th percentiles, a second or two of sorting.
BOOTSTRAP_ROUNDS = 400


def names_task(connection_string: str) -> EmbeddingsGenerationConfiguration:
    whole = ChunkingOptions(ChunkingMethod.PLAIN_TEXT_SPLIT, 512)
    return EmbeddingsGenerationConfiguration(
        name="ProductsBench", identifier="products-bench", connection_string_name=connection_string,
        collection="Products", embeddings_path_configurations=[EmbeddingPathConfiguration("Name", whole)],
        chunking_options_for_querying=whole)


def timed_query(store: DocumentStore, term: str) -> tuple[float, int]:
    started = time.perf_counter()
    with store.open_session() as session:
        found = list(session.advanced.raw_query(MIGRATION_SEARCH, dict).add_parameter("q", term))
    return time.perf_counter() - started, len(found)


class WritesSettling:
    """Whether the database's last etag has stayed put for ``quiet_seconds`` (polled at most every
    ``POLL_SECONDS``)."""

    def __init__(self, url: str, quiet_seconds: float = 3.0) -> None:
        self.url, self.quiet_seconds = url, quiet_seconds
        self.last: int | None = None
        self.since = self.checked = 0.0

    def settled(self) -> bool:
        now = time.perf_counter()
        if now - self.checked < POLL_SECONDS:
            return False
        self.checked = now
        response = HTTP.get(f"{self.url}/databases/{DATABASE}/stats")
        response.raise_for_status()
        etag = response.json()["LastDocEtag"]
        if etag != self.last:
            self.last, self.since = etag, now
        return now - self.since >= self.quiet_seconds


@dataclass
class Sampled:
    """The queries run while a migration goes on: their seconds, and how many failed or found nothing."""

    seconds: list[float] = field(default_factory=list)
    errors: int = 0
    empty: int = 0

    def query(self, store: DocumentStore) -> None:
        try:
            seconds, found = timed_query(store, MIGRATION_TERMS[len(self.seconds) % len(MIGRATION_TERMS)])
        except RavenException:
            self.errors += 1
            return
        self.seconds.append(seconds)
        self.empty += found == 0


def baseline(store: DocumentStore, count: int) -> list[float]:
    """Seconds of ``count`` queries while no migration runs."""
    return [timed_query(store, MIGRATION_TERMS[n % len(MIGRATION_TERMS)])[0] for n in range(count)]


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] * 1000 if ordered else float("nan")


def ratio_interval(during: list[float], without: list[float], rounds: int = BOOTSTRAP_ROUNDS) -> tuple[float, float]:
    """5th and 95th percentiles of the p99 ratio over bootstrap resamples of both sides (seeded): how much
    of the ratio is the luck of which queries happened to be slow."""
    if not during or not without:
        return float("nan"), float("nan")
    draw = random.Random(99)
    ratios = sorted(percentile(draw.choices(during, k=len(during)), 0.99)
                    / percentile(draw.choices(without, k=len(without)), 0.99) for _ in range(rounds))
    return ratios[int(0.05 * rounds)], ratios[int(0.95 * rounds)]


@dataclass
class MigrationRun:
    documents: int
    migration_seconds: float
    """From the update to the swap."""
    swap_seconds: float
    """From the moment the new generation covered every document to the swap (the new vector index
    catching up, then one record transaction), as seen at the poll interval."""
    before: list[float]
    after: list[float]
    """The queries without a migration: half before the update, half after the clean-up. The load drifts over
    a long migration, and both sides of it are the queries without one; each half's p99 is reported."""
    during: list[float]
    errors: int
    empty: int
    before_cleanup: int
    """How many of ``during`` ran before the swap (the rest ran during the clean-up after it)."""

    @property
    def without(self) -> list[float]:
        return self.before + self.after

    @property
    def p99_ratio(self) -> float:
        return percentile(self.during, 0.99) / percentile(self.without, 0.99)

    @property
    def met(self) -> bool:
        return self.p99_ratio <= MIGRATION_P99_GOAL and self.errors == 0 and self.empty == 0


def migration_run(directory: Path, documents: int, baseline_queries: int) -> MigrationRun:
    """Embed ``documents`` products' names with the embedded model (384 dimensions), then move the task to
    a 256-dimension OpenAI-protocol model on the local embedding server while queries run."""
    items = products(documents)
    port = free_port()
    tei_url = f"http://127.0.0.1:{port}"
    # A remote provider costs this machine nothing; the stand-in gets a core of its own (and rookdb's ONNX
    # thread count), so that the ratio measures rookdb's migration work, not the provider's model.
    cores = sorted(os.sched_getaffinity(0))
    provider_core, rookdb_cores = ({cores[-1]}, set(cores[:-1])) if len(cores) > 1 else (set(cores), set(cores))
    tei = ChildProcess(["taskset", "-c", ",".join(map(str, provider_core)), sys.executable, "-m",
                        "rookdb.testing.embedding_server", "--port", str(port), "--api-key", API_KEY,
                        "--threads", str(MODEL_THREADS)], f"{tei_url}/health").start()
    os.sched_setaffinity(0, rookdb_cores)  # inherited by the rookdb server started below
    old = AiConnectionString("Bench", "bench-embedded", model_type=AiModelType.TEXT_EMBEDDINGS,
                             embedded_settings=EmbeddedSettings())
    try:
        with serving_products(directory, items, old) as (url, store, _):
            store.maintenance.send(PutConnectionStringOperation(AiConnectionString(
                "Small", "bench-small", model_type=AiModelType.TEXT_EMBEDDINGS, openai_settings=OpenAiSettings(
                    API_KEY, f"{tei_url}/v1", "text-embedding-3-small", dimensions=MIGRATION_DIMENSIONS))))
            added = store.maintenance.send(AddEmbeddingsGenerationOperation(names_task("Bench")))
            wait_caught_up(url, documents)
            for term in MIGRATION_TERMS:  # the auto-index, and every search term in the cache
                timed_query(store, term)
            before = baseline(store, baseline_queries // 2)
            during = Sampled()
            started = time.perf_counter()
            covered_at: float | None = None
            store.maintenance.send(UpdateEmbeddingsGenerationOperation(added.task_id, names_task("Small")))
            checked = 0.0
            while time.perf_counter() - started < TIMEOUT_SECONDS:
                now = time.perf_counter()
                if now - checked >= POLL_SECONDS:
                    checked = now
                    migration = progress(url)["Migration"]
                    if migration is None:
                        break
                    if covered_at is None and migration["DocumentsProcessed"] >= migration["DocumentsTotal"]:
                        covered_at = now
                during.query(store)
            else:
                raise RuntimeError(f"the migration did not finish in {TIMEOUT_SECONDS}s: {progress(url)}")
            swapped_at = time.perf_counter()
            # The clean-up after the swap rewrites every embeddings document: queries while it runs count
            # as during the migration, and the baseline resumes once the database stops writing.
            before_cleanup = len(during.seconds)
            settling = WritesSettling(url)
            while not settling.settled():
                if time.perf_counter() - swapped_at > TIMEOUT_SECONDS:
                    raise RuntimeError(f"the database kept writing for {TIMEOUT_SECONDS}s after the swap")
                during.query(store)
            after = baseline(store, baseline_queries - baseline_queries // 2)
    finally:
        tei.stop()
        os.sched_setaffinity(0, cores)
    return MigrationRun(documents, swapped_at - started, swapped_at - (covered_at or swapped_at), before, after,
                        during.seconds, during.errors, during.empty, before_cleanup)


def report_migration(run: MigrationRun) -> None:
    print(f"\nmigration from the embedded model (384 dimensions) to a {MIGRATION_DIMENSIONS}-dimension model over "
          f"HTTP while queries run; goal: p99 during <= {MIGRATION_P99_GOAL} x p99 without, no error, no empty "
          "result", flush=True)
    table = Table(MIGRATION_COLUMNS)
    low, high = ratio_interval(run.during, run.without)
    table.row(f"{run.documents:,}", f"{run.migration_seconds:.1f}", f"{run.swap_seconds:.1f}", str(len(run.without)),
              f"{percentile(run.without, 0.5):.1f}",
              f"{percentile(run.without, 0.99):.1f} ({percentile(run.before, 0.99):.1f} / "
              f"{percentile(run.after, 0.99):.1f})", str(len(run.during)),
              f"{percentile(run.during, 0.5):.1f}", f"{percentile(run.during, 0.99):.1f}",
              f"{run.p99_ratio:.2f} ({low:.2f}-{high:.2f})", str(run.errors), str(run.empty),
              "met" if run.met else "NOT met")
    building, cleaning = run.during[:run.before_cleanup], run.during[run.before_cleanup:]
    print(f"during: {len(building)} queries before the swap, p99 {percentile(building, 0.99):.1f} ms; "
          f"{len(cleaning)} during the clean-up after it, p99 {percentile(cleaning, 0.99):.1f} ms", flush=True)
    RESULTS.mkdir(exist_ok=True)
    row = {"documents": run.documents, "migration_seconds": run.migration_seconds, "swap_seconds": run.swap_seconds,
           "queries_without": len(run.without), "p50_without_ms": percentile(run.without, 0.5),
           "p99_without_ms": percentile(run.without, 0.99), "p99_without_before_ms": percentile(run.before, 0.99),
           "p99_without_after_ms": percentile(run.after, 0.99), "p99_ratio_interval": [low, high],
           "queries_during": len(run.during),
           "p50_during_ms": percentile(run.during, 0.5), "p99_during_ms": percentile(run.during, 0.99),
           "p99_ratio": run.p99_ratio, "errors": run.errors, "empty": run.empty, "met": run.met}
    (RESULTS / f"embeddings_task-migration-{run.documents}.json").write_text(json.dumps(row, indent=2) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=10_000, help="products moved to another model")
    parser.add_argument("--queries", type=int, default=4000,
                        help="queries without a migration (half before it, half after its clean-up)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        report_migration(migration_run(Path(scratch), args.documents, args.queries))


if __name__ == "__main__":
    main()
