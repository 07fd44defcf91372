"""Vector search over HTTP: rookdb (``rookdb serve``, the official ``ravendb`` client) against Chroma's server.

Called by ``bench/vector_search.py`` (``extra_benchmarks``) with its dataset; the rows come back as
plain dicts with the fields of its ``Result``. Run alone, it is ``bench/vector_search.py --only-http``:
``.venv/bin/python bench/vector_search_http.py [--vectors 100000] [--skip-peers]``.

* rookdb: ``rookdb serve`` in a subprocess; the vectors are stored as documents
  ``items/<i> {"Vector": [...]}`` with the client's bulk insert; the first query
  (``wait_for_non_stale_results``) creates the auto-index and waits for it, which is the build time;
  then ``from Items where vector.search(Vector, $v)`` through the client: projecting ``id()`` (what
  Chroma returns: ids and distances) with ``$v`` a list of floats, then with ``$v`` as Base64 (the
  client's documented alternative, which spares it per-number work), and returning the documents.
  One more row posts the same RQL request with httpx + orjson, as Chroma's own client talks to its
  server: the two servers compared with the same thin client.
* Chroma: ``chroma run`` in a subprocess, queried with ``chromadb.HttpClient`` from the peers venv
  (``bash bench/setup_peers.sh``). Its client runs in a worker process driven over a pipe.

Both servers are up at the same time and the systems take turns block by block (``BLOCK`` queries
each), so load from other work on the shared cores hits them alike. QPS is measured per system with
1 and 2 client threads. Each server's own CPU time over the timed blocks (every thread of its process,
from ``/proc``) gives its server-side time per query, which leaves the client's cost out.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

BENCH = Path(__file__).resolve().parent
PEERS_BIN = BENCH / ".venv-peers" / "bin"
K = 10
M = 12
EF_CONSTRUCTION = 64
EF_SEARCH = 64
BLOCK = 50  # queries per turn
WARM_UP = 50
START_TIMEOUT_S = 120.0
BUILD_TIMEOUT = timedelta(hours=1)
DATABASE = "bench"

Vectors = npt.NDArray[np.float32]
Search = Callable[[Vectors], Sequence[int]]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(check: Callable[[], object], process: subprocess.Popen[Any], what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        try:
            check()
            return
        except Exception:  # not listening yet
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.2)


def directory_bytes(path: Path) -> int:
    return sum(entry.stat().st_size for entry in path.rglob("*") if entry.is_file())


def throughput(search: Search, queries: Vectors, threads: int) -> float:
    def run(part: Vectors) -> None:
        for query in part:
            search(query)

    workers = [threading.Thread(target=run, args=(part,)) for part in np.array_split(queries, threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return len(queries) / (time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    """CPU time every thread of process ``pid`` has run so far (nanosecond counters of ``/proc``)."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):  # a thread that ended meanwhile
            continue
    return total / 1e9


def timed(search: Search, queries: Vectors) -> tuple[list[float], list[list[int]]]:
    latencies, found = [], []
    for query in queries:
        start = time.perf_counter()
        keys = search(query)
        latencies.append(time.perf_counter() - start)
        found.append([int(key) for key in keys])
    return latencies, found


# ---------------------------------------------------------------- rookdb (rookdb's venv)


class RookdbHttp:
    """``rookdb serve`` in a subprocess and an official-client store on it."""

    def __init__(self, work: Path) -> None:
        import httpx
        from ravendb import DocumentStore
        from ravendb.serverwide.database_record import DatabaseRecord
        from ravendb.serverwide.operations.common import CreateDatabaseOperation

        self.data = work / "rookdb-http"
        self.url = f"http://127.0.0.1:{free_port()}"
        command = [sys.executable, "-m", "rookdb", "serve", "--data-dir", str(self.data),
                   "--port", self.url.rsplit(":", 1)[1]]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                        cwd=BENCH.parent)
        wait_until_up(lambda: httpx.get(self.url + "/build/version", timeout=1).raise_for_status(), self.process,
                      "rookdb serve")
        self.http = httpx.Client(base_url=self.url)
        self.store = DocumentStore(urls=[self.url], database=DATABASE)
        self.store.initialize()
        self.store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))

    def load(self, vectors: Vectors) -> tuple[float, float]:
        """Bulk insert one document per vector, then build the index; returns (insert s, build s)."""
        start = time.perf_counter()
        with self.store.bulk_insert() as bulk:
            for number, vector in enumerate(vectors):
                bulk.store_as({"Vector": vector.tolist()}, f"items/{number}", metadata={"@collection": "Items"})
        inserted = time.perf_counter() - start
        from ravendb.exceptions.raven_exceptions import RavenException

        start = time.perf_counter()
        while True:
            try:
                with self.store.open_session() as session:
                    list(session.advanced.raw_query("from Items where vector.search(Vector, $v)", dict)
                         .add_parameter("v", vectors[0].tolist()).wait_for_non_stale_results(BUILD_TIMEOUT))
                return inserted, time.perf_counter() - start
            except RavenException as error:
                # Waiting for the auto-index counts against Query.TimeoutInSec: on a loaded machine the
                # build outlasts one query, so ask again until it is done.
                if "TimeoutException" not in str(error) or time.perf_counter() - start > BUILD_TIMEOUT.total_seconds():
                    raise

    def search_ids(self, query: Vectors) -> list[int]:
        with self.store.open_session() as session:
            rows = session.advanced.raw_query(
                f"from Items where vector.search(Vector, $v) select id() limit {K}", dict,
            ).add_parameter("v", query.tolist())
            return [int(row["Id"].rsplit("/", 1)[1]) for row in rows]

    def search_ids_base64(self, query: Vectors) -> list[int]:
        with self.store.open_session() as session:
            rows = session.advanced.raw_query(
                f"from Items where vector.search(Vector, $v) select id() limit {K}", dict,
            ).add_parameter("v", base64.b64encode(query.astype("<f4").tobytes()).decode())
            return [int(row["Id"].rsplit("/", 1)[1]) for row in rows]

    def search_thin(self, query: Vectors) -> list[int]:
        import orjson

        body = {"Query": f"from Items where vector.search(Vector, $v) select id() limit {K}",
                "QueryParameters": {"v": query}}
        response = self.http.post(f"/databases/{DATABASE}/queries",
                                  content=orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY))
        return [int(row["Id"].rsplit("/", 1)[1]) for row in orjson.loads(response.content)["Results"]]

    def search_documents(self, query: Vectors) -> list[int]:
        with self.store.open_session() as session:
            rows = session.query_collection("Items", dict).vector_search("Vector", query.tolist()).take(K)
            return [int(row["@metadata"]["@id"].rsplit("/", 1)[1]) for row in rows]

    def index_bytes(self) -> int:
        return directory_bytes(self.data / "databases" / DATABASE / "indexes")

    def close(self) -> None:
        self.store.close()
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()


# ---------------------------------------------------------------- Chroma (peers venv, over a pipe)


class ChromaHttpPeer:
    """Drives ``chroma_worker`` in the peers venv: one JSON command per line, one JSON answer per line."""

    def __init__(self, dataset_path: Path, work: Path) -> None:
        command = [str(PEERS_BIN / "python"), __file__, "--chroma-worker", str(dataset_path), str(work)]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ready = self._answer()

    def _answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the Chroma worker stopped")
        return json.loads(line)

    def ask(self, **command: Any) -> Any:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()
        return self._answer()

    def close(self) -> None:
        try:
            self.ask(command="quit")
        finally:
            self.process.wait(120)


def chroma_worker(dataset_path: Path, work: Path) -> None:
    """Runs in the peers venv: starts ``chroma run``, loads the vectors, then answers commands."""
    import chromadb  # peers venv only
    from chromadb.config import Settings  # peers venv only

    with np.load(dataset_path) as saved:
        vectors, queries = saved["vectors"], saved["queries"]
    port = free_port()
    folder = work / "chroma-http"
    server = subprocess.Popen([str(PEERS_BIN / "chroma"), "run", "--path", str(folder), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        holder: dict[str, Any] = {}

        def connect() -> None:
            holder["client"] = chromadb.HttpClient(host="127.0.0.1", port=port,
                                                   settings=Settings(anonymized_telemetry=False))
            holder["client"].heartbeat()

        wait_until_up(connect, server, "chroma run")
        client = holder["client"]
        hnsw = {"space": "cosine", "max_neighbors": M, "ef_construction": EF_CONSTRUCTION, "ef_search": EF_SEARCH}
        collection = client.create_collection("bench", configuration={"hnsw": hnsw}, embedding_function=None)
        ids = [str(i) for i in range(len(vectors))]
        batch = client.get_max_batch_size()
        start = time.perf_counter()
        for first in range(0, len(ids), batch):
            collection.add(ids=ids[first : first + batch], embeddings=vectors[first : first + batch])
        build = time.perf_counter() - start

        def search(query: Vectors) -> list[int]:
            found = collection.query(query_embeddings=[query], n_results=K, include=["distances"])
            return [int(i) for i in found["ids"][0]]

        print(json.dumps({"build_s": build, "disk": directory_bytes(folder), "version": chromadb.__version__}),
              flush=True)
        for line in sys.stdin:
            command = json.loads(line)
            if command["command"] == "quit":
                print(json.dumps({}), flush=True)
                return
            if command["command"] == "timed":
                before = cpu_seconds(server.pid)
                latencies, found = timed(search, queries[command["start"] : command["end"]])
                print(json.dumps({"latencies": latencies, "found": found,
                                  "server_s": cpu_seconds(server.pid) - before}), flush=True)
            elif command["command"] == "qps":
                print(json.dumps({"qps": throughput(search, queries, command["threads"])}), flush=True)
    finally:
        server.terminate()
        server.wait(60)


# ---------------------------------------------------------------- the comparison


def http_rows(dataset_path: Path, vectors: Vectors, queries: Vectors, truth: npt.NDArray[np.int64], work: Path,
              *, chroma: bool) -> list[dict[str, Any]]:
    """Rows for rookdb over HTTP (ids, documents) and, with ``chroma``, Chroma's HTTP server."""
    rookdb = RookdbHttp(work)
    peer: ChromaHttpPeer | None = None
    try:
        print("  rookdb HTTP: bulk insert and index build ...", file=sys.stderr)
        inserted, built = rookdb.load(vectors)
        if chroma and (PEERS_BIN / "python").exists():
            print("  chroma HTTP: server and inserts ...", file=sys.stderr)
            peer = ChromaHttpPeer(dataset_path, work)
        local: dict[str, Search] = {"rookdb HTTP, ids": rookdb.search_ids,
                                    "rookdb HTTP, ids, Base64 $v": rookdb.search_ids_base64,
                                    "rookdb HTTP, ids, httpx+orjson": rookdb.search_thin,
                                    "rookdb HTTP, documents": rookdb.search_documents}
        for search in local.values():
            timed(search, queries[:WARM_UP])
        if peer is not None:
            peer.ask(command="timed", start=0, end=WARM_UP)
        names = [*local, *(["chroma HTTP"] if peer else [])]
        latencies: dict[str, list[float]] = {name: [] for name in names}
        found: dict[str, list[list[int]]] = {name: [] for name in names}
        server_s: dict[str, float] = dict.fromkeys(names, 0.0)
        print(f"  alternating blocks of {BLOCK} queries ...", file=sys.stderr)
        for start in range(0, len(queries), BLOCK):
            end = min(start + BLOCK, len(queries))
            for name, search in local.items():
                before = cpu_seconds(rookdb.process.pid)
                block_latencies, block_found = timed(search, queries[start:end])
                server_s[name] += cpu_seconds(rookdb.process.pid) - before
                latencies[name] += block_latencies
                found[name] += block_found
            if peer is not None:
                answer = peer.ask(command="timed", start=start, end=end)
                latencies["chroma HTTP"] += answer["latencies"]
                found["chroma HTTP"] += answer["found"]
                server_s["chroma HTTP"] += answer["server_s"]
        qps = {name: (throughput(search, queries, 1), throughput(search, queries, 2))
               for name, search in local.items()}
        if peer is not None:
            qps["chroma HTTP"] = (peer.ask(command="qps", threads=1)["qps"], peer.ask(command="qps", threads=2)["qps"])
        rows = []
        for name in names:
            ordered = sorted(latencies[name])
            hits = [len(set(keys[:K]) & set(truth[i].tolist())) for i, keys in enumerate(found[name])]
            is_rookdb = name.startswith("rookdb")
            server_ms = server_s[name] / len(queries) * 1e3
            rows.append({
                "system": name if is_rookdb else f"chroma {peer.ready['version'] if peer else ''} HTTP",
                "build_s": built if is_rookdb else peer.ready["build_s"] if peer else None,
                "disk_mb": (rookdb.index_bytes() if is_rookdb else peer.ready["disk"] if peer else 0) / 2**20,
                "p50_ms": statistics.median(ordered) * 1e3,
                "p99_ms": ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3,
                "qps_1": qps[name][0],
                "qps_2": qps[name][1],
                "recall": float(np.mean(hits)) / K,
                "note": f"server CPU {server_ms:.2f} ms/query; "
                        + (f"bulk insert {inserted:.0f}s; build = first query" if is_rookdb else "client add = build"),
                "server_ms": server_ms,
            })
        return rows
    finally:
        if peer is not None:
            peer.close()
        rookdb.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Other arguments go to bench/vector_search.py --only-http.")
    parser.add_argument("--chroma-worker", nargs=2, metavar=("DATASET", "WORK"), help=argparse.SUPPRESS)
    args, rest = parser.parse_known_args()
    if args.chroma_worker:
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        chroma_worker(Path(args.chroma_worker[0]), Path(args.chroma_worker[1]))
        return
    from vector_search import main as vector_search

    vector_search(["--only-http", *rest])


if __name__ == "__main__":
    main()
