"""Vector search: rookdb's VectorIndex against raw usearch, numpy exact search, Chroma and LanceDB.

Run: .venv/bin/python bench/vector_search.py [--vectors 100000] [--queries 1000] [--skip-peers]
(the test suite runs --vectors 500 --queries 60 --skip-http, and the HTTP rows through vector_search_http.py)

Every system gets the same clustered unit vectors (384 dims, seeded, cached in bench/results/), the
same queries and k = 10, and the same HNSW parameters: M = 12 edges, 64 build candidates and 64
search candidates (rookdb's floors over RavenDB's 16/16 defaults). Raw usearch with those parameters
is the limit for rookdb; "usearch 16/16" shows what RavenDB's literal defaults would give.

Measured per system: build time (adding all vectors, 2 threads where the system allows), size on
disk, single-thread latency p50/p99 over the queries, throughput with 1 and 2 client threads, and
recall@10 against the exact answer.

Chroma and LanceDB live in their own virtualenv (``bash bench/setup_peers.sh``), never in rookdb's
dependencies. This script runs itself there with ``--peer NAME`` and reads one JSON line back.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from table import Table

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
PEERS_PYTHON = BENCH / ".venv-peers" / "bin" / "python"

K = 10
M = 12
EF_CONSTRUCTION = 64  # rookdb's GraphTuning.min_expansion_add over RavenDB's 16
EF_SEARCH = 64  # rookdb's GraphTuning.min_expansion_search
CANDIDATES = 16  # RavenDB's default numberOfCandidates: vectors the graph returns
BUILD_THREADS = 2
VECTORS_PER_CLUSTER = 50

Search = Callable[[npt.NDArray[np.float32]], Sequence[int]]

# Search functions of the systems built in this process, by table name, for the paired comparison.
SEARCHES: dict[str, Search] = {}


@dataclass
class Result:
    """One row of the table."""

    system: str
    build_s: float | None
    disk_mb: float | None
    p50_ms: float
    p99_ms: float
    qps_1: float
    qps_2: float
    recall: float
    note: str = ""
    server_ms: float | None = None
    """Over HTTP: the server process's CPU time per query (every thread), the client's cost left out."""


@dataclass(frozen=True)
class Dataset:
    path: Path
    vectors: npt.NDArray[np.float32]
    queries: npt.NDArray[np.float32]
    truth: npt.NDArray[np.int64]


# ---------------------------------------------------------------- data


def load_dataset(vectors: int, dimensions: int, queries: int, seed: int) -> Dataset:
    """Gaussian clusters on the unit sphere (uniform random vectors would defeat every graph index)."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"vector-dataset-{vectors}x{dimensions}-q{queries}-seed{seed}.npz"
    if not path.exists():
        rng = np.random.default_rng(seed)
        clusters = max(1, vectors // VECTORS_PER_CLUSTER)
        centres = rng.standard_normal((clusters, dimensions)).astype(np.float32)
        centres /= np.linalg.norm(centres, axis=1, keepdims=True)
        points = np.empty((vectors + queries, dimensions), dtype=np.float32)
        for start in range(0, len(points), 100_000):
            block = points[start : start + 100_000]
            block[:] = centres[rng.integers(0, clusters, len(block))]
            block += rng.standard_normal(block.shape, dtype=np.float32) / np.float32(np.sqrt(dimensions))
            block /= np.linalg.norm(block, axis=1, keepdims=True)
        base, held_out = points[:vectors], points[vectors:]
        truth = np.concatenate([exact_top(base, held_out[i : i + 100]) for i in range(0, queries, 100)])
        np.savez(path, vectors=base, queries=held_out, truth=truth)
    with np.load(path) as saved:
        return Dataset(path, saved["vectors"], saved["queries"], saved["truth"])


def exact_top(base: npt.NDArray[np.float32], queries: npt.NDArray[np.float32]) -> npt.NDArray[np.int64]:
    scores = queries @ base.T
    top = np.argpartition(-scores, K, axis=1)[:, :K]
    order = np.argsort(-np.take_along_axis(scores, top, axis=1), axis=1)
    return np.take_along_axis(top, order, axis=1).astype(np.int64)


# ---------------------------------------------------------------- measuring


def measure(system: str, search: Search, dataset: Dataset, build_s: float | None, disk: int | None) -> Result:
    """Latency single-threaded, then throughput with 1 and 2 threads, then recall@10."""
    SEARCHES[system] = search
    queries = dataset.queries
    for query in queries[:50]:
        search(query)  # warm caches and lazy initialisation
    latencies, found = [], []
    for query in queries:
        start = time.perf_counter()
        keys = search(query)
        latencies.append(time.perf_counter() - start)
        found.append(keys)
    latencies.sort()
    recall = float(
        np.mean([len(set(map(int, keys[:K])) & set(dataset.truth[i].tolist())) for i, keys in enumerate(found)])
    )
    return Result(
        system=system,
        build_s=build_s,
        disk_mb=None if disk is None else disk / 2**20,
        p50_ms=statistics.median(latencies) * 1e3,
        p99_ms=latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3,
        qps_1=throughput(search, queries, 1),
        qps_2=throughput(search, queries, 2),
        recall=recall / K,
    )


def throughput(search: Search, queries: npt.NDArray[np.float32], threads: int) -> float:
    """Queries per second with ``threads`` client threads sharing the queries."""

    def run(part: npt.NDArray[np.float32]) -> None:
        for query in part:
            search(query)

    workers = [threading.Thread(target=run, args=(part,)) for part in np.array_split(queries, threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(queries) / (time.perf_counter() - start)


def paired_ratio(first: Search, second: Search, queries: npt.NDArray[np.float32], rounds: int = 3) -> float:
    """Median latency of ``first`` over that of ``second``, timed query by query in alternation.

    The cores are shared, so load shifts between two sequential measurements; alternating calls
    expose both systems to the same load.
    """
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        for query in queries:
            for search, bucket in ((first, times[0]), (second, times[1])):
                start = time.perf_counter()
                search(query)
                bucket.append(time.perf_counter() - start)
    return statistics.median(times[0]) / statistics.median(times[1])


def directory_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


# ---------------------------------------------------------------- systems in this process


def bench_rookdb(dataset: Dataset, kind_name: str, work: Path) -> Result:
    from rookdb.indexes.vector import VectorIndex, VectorKind

    kind = VectorKind(kind_name)
    folder = work / f"rookdb-{kind_name}"
    start = time.perf_counter()
    index = VectorIndex.open(folder, "field", kind=kind)
    index.add_many(np.arange(len(dataset.vectors)), dataset.vectors, threads=BUILD_THREADS)
    build = time.perf_counter() - start
    started = time.perf_counter()
    index.save(checkpoint=1)
    note = f"save {time.perf_counter() - started:.1f}s"

    def search(query: npt.NDArray[np.float32]) -> list[int]:
        return [key for key, _ in index.search(query, K)]

    result = measure(f"rookdb {kind_name}", search, dataset, build, index.disk_bytes())
    result.note = note
    return result


def bench_usearch(dataset: Dataset, work: Path, expansion_add: int, expansion_search: int, label: str) -> Result:
    from usearch.index import Index

    start = time.perf_counter()
    index = Index(
        ndim=dataset.vectors.shape[1],
        metric="ip",
        dtype="f32",
        connectivity=M,
        expansion_add=expansion_add,
        expansion_search=expansion_search,
    )
    index.add(np.arange(len(dataset.vectors)), dataset.vectors, threads=BUILD_THREADS)
    build = time.perf_counter() - start
    path = work / f"{label.replace(' ', '-').replace('/', '-')}.usearch"
    index.save(str(path))

    def search(query: npt.NDArray[np.float32]) -> Any:
        return index.search(query, CANDIDATES, threads=1).keys[:K]

    return measure(label, search, dataset, build, path.stat().st_size)


def bench_numpy(dataset: Dataset) -> Result:
    vectors = dataset.vectors

    def search(query: npt.NDArray[np.float32]) -> Any:
        scores = vectors @ query
        top = np.argpartition(-scores, K)[:K]
        return top[np.argsort(-scores[top])]

    return measure("numpy exact", search, dataset, 0.0, vectors.nbytes)


def bench_rookdb_exact(dataset: Dataset, work: Path) -> Result:
    from rookdb.indexes.vector import VectorIndex

    index = VectorIndex.open(work / "rookdb-Single", "field")

    def search(query: npt.NDArray[np.float32]) -> list[int]:
        return [key for key, _ in index.search(query, K, exact=True)]

    return measure("rookdb Single exact()", search, dataset, None, None)


def extra_benchmarks(dataset: Dataset, work: Path, *, peers: bool = True) -> list[Result]:
    """Rows measured through more than the engine: rookdb over HTTP (``rookdb serve``, documents, RQL
    through the official client) and, with ``peers``, Chroma's HTTP server (``bench/vector_search_http.py``)."""
    from vector_search_http import http_rows

    print("measuring rookdb over HTTP" + (" and chroma over HTTP ..." if peers else " ..."), file=sys.stderr)
    rows = http_rows(dataset.path, dataset.vectors, dataset.queries, dataset.truth, work, chroma=peers)
    results = [Result(**row) for row in rows]
    if peers and not PEERS_PYTHON.exists():
        results.append(not_measured("chroma HTTP", PEERS_MISSING))
    return results


# ---------------------------------------------------------------- peers (run inside bench/.venv-peers)


def not_measured(system: str, why: str) -> Result:
    """A row for a system that could not run here (a peer not installed, or one that failed)."""
    return Result(system, None, None, float("nan"), float("nan"), 0, 0, float("nan"), why)


PEERS_MISSING = "skipped: not installed (bash bench/setup_peers.sh)"


def bench_peer_in_subprocess(name: str, dataset: Dataset) -> Result:
    if not PEERS_PYTHON.exists():
        return not_measured(name, PEERS_MISSING)
    command = [str(PEERS_PYTHON), __file__, "--peer", name, "--dataset", str(dataset.path)]
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        tail = finished.stderr.strip().splitlines()[-1:] or ["no output"]
        return not_measured(name, f"failed: {tail[0][:80]}")
    return Result(**json.loads(finished.stdout.strip().splitlines()[-1]))


def bench_chroma(dataset: Dataset, work: Path) -> Result:
    import chromadb  # peers venv only
    from chromadb.config import Settings  # peers venv only

    folder = work / "chroma"
    client = chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))
    hnsw = {
        "space": "cosine",
        "max_neighbors": M,
        "ef_construction": EF_CONSTRUCTION,
        "ef_search": EF_SEARCH,
        "num_threads": BUILD_THREADS,
    }
    collection = client.create_collection("bench", configuration={"hnsw": hnsw}, embedding_function=None)
    ids = [str(i) for i in range(len(dataset.vectors))]
    batch = client.get_max_batch_size()
    start = time.perf_counter()
    for first in range(0, len(ids), batch):
        collection.add(ids=ids[first : first + batch], embeddings=dataset.vectors[first : first + batch])
    build = time.perf_counter() - start

    def search(query: npt.NDArray[np.float32]) -> list[int]:
        found = collection.query(query_embeddings=[query], n_results=K, include=["distances"])
        return [int(i) for i in found["ids"][0]]

    return measure("chroma 1.5.9", search, dataset, build, directory_bytes(folder))


def bench_lancedb(dataset: Dataset, work: Path) -> Result:
    import lancedb  # type: ignore[import-not-found]  # peers venv only
    import pyarrow as pa  # type: ignore[import-not-found]  # peers venv only

    folder = work / "lancedb"
    db = lancedb.connect(str(folder))
    dimensions = dataset.vectors.shape[1]
    vectors = pa.FixedSizeListArray.from_arrays(pa.array(dataset.vectors.reshape(-1)), dimensions)
    data = pa.table({"id": pa.array(np.arange(len(dataset.vectors))), "vector": vectors})
    start = time.perf_counter()
    table = db.create_table("bench", data=data)
    # One IVF partition makes it a plain HNSW graph over full vectors, like the others.
    table.create_index(
        metric="cosine", index_type="IVF_HNSW_FLAT", num_partitions=1, m=M, ef_construction=EF_CONSTRUCTION
    )
    build = time.perf_counter() - start

    def search(query: npt.NDArray[np.float32]) -> list[int]:
        found = table.search(query).distance_type("cosine").nprobes(1).ef(EF_SEARCH).limit(K).select(["id"])
        return [int(i) for i in found.to_arrow()["id"].to_pylist()]

    return measure("lancedb 0.40.0", search, dataset, build, directory_bytes(folder))


PEERS: dict[str, Callable[[Dataset, Path], Result]] = {"chroma": bench_chroma, "lancedb": bench_lancedb}


def run_peer(name: str, dataset_path: Path) -> None:
    with np.load(dataset_path) as saved:
        dataset = Dataset(dataset_path, saved["vectors"], saved["queries"], saved["truth"])
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as work:
        result = PEERS[name](dataset, Path(work))
    print(json.dumps(asdict(result)))


# ---------------------------------------------------------------- report


COLUMNS = ("system", "build s", "disk MB", "p50 ms", "p99 ms", "QPS 1 thr", "QPS 2 thr", "recall@10", "note")
WIDTHS = (30, 7, 7, 7, 7, 9, 9, 9, 20)


def describe(dataset: Dataset) -> str:
    n, d = dataset.vectors.shape
    return (f"{n:,} vectors x {d} dims, {len(dataset.queries):,} queries, k={K}, M={M}, "
            f"efConstruction={EF_CONSTRUCTION}, efSearch={EF_SEARCH}, candidates={CANDIDATES}")


def print_row(table: Table, r: Result) -> None:
    if r.p50_ms != r.p50_ms:  # NaN: not measured here; the note says why
        table.row(r.system, *["-"] * 7, r.note)
        return
    table.row(
        r.system,
        "-" if r.build_s is None else f"{r.build_s:.1f}",
        "-" if r.disk_mb is None else f"{r.disk_mb:.1f}",
        f"{r.p50_ms:.3f}",
        f"{r.p99_ms:.3f}",
        f"{r.qps_1:,.0f}",
        f"{r.qps_2:,.0f}",
        f"{r.recall:.4f}",
        r.note,
    )


def print_ratios(results: list[Result], paired: float | None) -> None:
    by_name = {r.system: r for r in results}
    rookdb, limit = by_name.get("rookdb Single"), by_name.get("usearch")
    if rookdb and limit:
        ratio = rookdb.p50_ms / limit.p50_ms
        print(f"\nrookdb Single p50 / usearch p50 = {ratio:.2f}x (from the table)")
        if paired is not None:
            verdict = "meets" if paired <= 1.5 else "misses"
            print(f"rookdb Single p50 / usearch p50 = {paired:.2f}x paired query by query ({verdict} the 1.5x goal)")
        print(f"rookdb Single p99 / usearch p99 = {rookdb.p99_ms / limit.p99_ms:.2f}x")
        print(f"rookdb Single build / usearch build = {(rookdb.build_s or 0) / (limit.build_s or 1):.2f}x")
    exact = by_name.get("numpy exact")
    if rookdb and exact:
        print(f"numpy exact p50 / rookdb Single p50 = {exact.p50_ms / rookdb.p50_ms:.1f}x")
    chroma_http = next((r for r in results if r.system.startswith("chroma") and r.system.endswith("HTTP")
                        and r.p50_ms == r.p50_ms), None)
    for label in ("rookdb HTTP, ids", "rookdb HTTP, ids, Base64 $v", "rookdb HTTP, ids, httpx+orjson"):
        over_http = by_name.get(label)
        if over_http and chroma_http:
            print(f"over HTTP, {label} / chroma: p50 {over_http.p50_ms / chroma_http.p50_ms:.2f}x, "
                  f"p99 {over_http.p99_ms / chroma_http.p99_ms:.2f}x, "
                  f"QPS with 2 threads {over_http.qps_2 / chroma_http.qps_2:.2f}x")
            if over_http.server_ms and chroma_http.server_ms:
                print(f"over HTTP, {label} / chroma: server CPU per query "
                      f"{over_http.server_ms / chroma_http.server_ms:.2f}x "
                      f"({over_http.server_ms:.2f} vs {chroma_http.server_ms:.2f} ms)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vectors", type=int, default=100_000)
    parser.add_argument("--dimensions", type=int, default=384)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261124)
    parser.add_argument("--skip-peers", action="store_true", help="skip Chroma and LanceDB")
    parser.add_argument("--only-http", action="store_true", help="only the rows measured over HTTP")
    parser.add_argument("--skip-http", action="store_true", help="skip the rows measured over HTTP")
    parser.add_argument("--peer", choices=sorted(PEERS), help=argparse.SUPPRESS)
    parser.add_argument("--dataset", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.peer:
        run_peer(args.peer, args.dataset)
        return

    sys.path.insert(0, str(BENCH.parent))
    started = time.perf_counter()
    dataset = load_dataset(args.vectors, args.dimensions, args.queries, args.seed)
    print(f"dataset {dataset.path.name} ready in {time.perf_counter() - started:.1f}s", flush=True)
    report = RESULTS / f"vector_search-{args.vectors}{'-http' if args.only_http else ''}.json"
    results: list[Result] = []
    paired = None

    def save() -> None:  # after every row, so a run that dies keeps what it measured
        report.write_text(json.dumps({"results": [asdict(r) for r in results], "paired_p50_ratio": paired}, indent=1))

    print(f"\n{describe(dataset)}\n", flush=True)
    table = Table(COLUMNS, WIDTHS)
    work = Path(tempfile.mkdtemp(prefix="bench-vectors-"))
    try:
        steps: list[tuple[str, Callable[[], Result]]] = [
            ("rookdb Single", lambda: bench_rookdb(dataset, "Single", work)),
            ("rookdb Single exact()", lambda: bench_rookdb_exact(dataset, work)),
            ("rookdb Int8", lambda: bench_rookdb(dataset, "Int8", work)),
            ("rookdb Binary", lambda: bench_rookdb(dataset, "Binary", work)),
            ("usearch", lambda: bench_usearch(dataset, work, EF_CONSTRUCTION, EF_SEARCH, "usearch")),
            ("usearch 16/16", lambda: bench_usearch(dataset, work, 16, 16, "usearch 16/16")),
            ("numpy exact", lambda: bench_numpy(dataset)),
        ]
        if not args.skip_peers:
            steps += [(name, partial(bench_peer_in_subprocess, name, dataset)) for name in sorted(PEERS)]
        if args.only_http:
            steps = []
        for _, step in steps:
            results.append(step())
            print_row(table, results[-1])
            save()
        for row in [] if args.skip_http else extra_benchmarks(dataset, work, peers=not args.skip_peers):
            results.append(row)
            print_row(table, row)
        save()
        if "rookdb Single" in SEARCHES and "usearch" in SEARCHES:
            paired = paired_ratio(SEARCHES["rookdb Single"], SEARCHES["usearch"], dataset.queries)
            save()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print_ratios(results, paired)
    print(f"\nraw numbers: {report.relative_to(BENCH.parent)}")


if __name__ == "__main__":
    main()
