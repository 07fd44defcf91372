"""The request path under load: ``rookdb serve`` against a minimal app on the same uvicorn stack, with wrk.

The floor is a Starlette app with one route that answers the very bytes rookdb answers for
``GET /docs?id=products/1-A``, served by the same uvicorn protocol (httptools with RavenDB's
``RESET``), the same event loop and one process, without an access log. Both servers run side by
side; each measurement alternates them ``--rounds`` times and keeps each side's best, so load from
other work on the shared cores hits them alike.

Rows (the goals of issue 18): ``GET /docs?id=`` requests/s at 16 connections against the floor's
(goal ≥ 0.5) and its single-connection p50 against the floor's (goal at most 2 times); requests/s of an
equality query and of a vector query at 16 connections against 1 connection (goal ≥ 1); then a
soak of mixed loads, writes, equality and vector queries at 16 connections for ``--soak-seconds``:
errors (goal 0), the server's RSS at the end against the start (flat), split into anonymous memory
and mapped files (SQLite maps database files, so those pages count as resident as they are read), with
the anonymous memory gained in each quarter of the soak (a leak keeps growing; a cache fills and levels
off), and every write the server acknowledged read back afterwards.

``.venv/bin/python bench/http_load.py`` (Northwind's 77 products, 2,000 vectors; ``--soak-seconds 600``
for the full soak). Needs ``wrk`` (``scripts/wrk`` installs it).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from table import Table

from rookdb.testing.server_process import ChildProcess, ServerProcess

DATABASE = "Northwind"
PRODUCTS = 77
DIMENSIONS = 64
CONNECTIONS = 16
LOAD_PATH = f"/databases/{DATABASE}/docs?id=products/1-A"
QUERY_PATH = f"/databases/{DATABASE}/queries"
EQUALITY_RQL = "from Products where Category = $c"
VECTOR_RQL = "from Items where vector.search(Vector, $v) limit 10"
BULK_CHUNK = 500
GOALS = {"load ratio": 0.5, "p50 ratio": 2.0, "scaling": 1.0}

# The done() hook every wrk run shares: one JSON line with what the table needs.
_DONE = """
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRK {"requests":%d,"duration_us":%d,"errors":%d,"p50_us":%d,"p99_us":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
"""

# Mixed traffic: each wrk thread cycles load, write, equality query, vector query, and appends the id of
# every write the server acknowledged (201) to a file of its own (the first script argument is the folder).
_SOAK = """
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("tid", threads)
end
function init(args)
  n = 0
  acked = io.open(args[1] .. "/acked-" .. tid .. ".txt", "w")
  acked:setvbuf("line")
end
local json = {["Content-Type"] = "application/json"}
function request()
  n = n + 1
  local kind = n % 4
  if kind == 0 then
    return wrk.format("GET", "/databases/NAME/docs?id=products/" .. (n % PRODUCTS + 1) .. "-A")
  elseif kind == 1 then
    return wrk.format("PUT", "/databases/NAME/docs?id=soak/" .. tid .. "-" .. n, json,
      '{"Name":"soak ' .. n .. '","@metadata":{"@collection":"Soaks"}}')
  elseif kind == 2 then
    return wrk.format("POST", "QUERY_PATH", json, [==[EQUALITY_BODY]==])
  end
  return wrk.format("POST", "QUERY_PATH", json, [==[VECTOR_BODY]==])
end
function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '"Id":"(soak/[^"]+)"')
    if id then acked:write(id, "\\n") end
  end
end
"""


@dataclass(frozen=True)
class Run:
    requests_per_second: float
    p50_us: float
    p99_us: float
    errors: int
    requests: int


def wrk(url: str, path: str, connections: int, seconds: float, script: str, folder: Path,
        arguments: tuple[str, ...] = ()) -> Run:
    """One wrk run of ``seconds`` at ``connections`` with the Lua ``script`` (the done() hook is added)."""
    lua = folder / f"run-{time.monotonic_ns()}.lua"
    lua.write_text(script + _DONE)
    command = ["wrk", f"-t{min(connections, 2)}", f"-c{connections}", f"-d{max(1, round(seconds))}s",
               "--timeout", "30s", "-s", str(lua), url + path]
    if arguments:
        command += ["--", *arguments]
    finished = subprocess.run(command, capture_output=True, text=True, check=True)
    line = next(line for line in finished.stdout.splitlines() if line.startswith("WRK "))
    found = json.loads(line[4:])
    seconds_taken = found["duration_us"] / 1e6
    return Run(found["requests"] / seconds_taken, found["p50_us"], found["p99_us"], found["errors"],
               found["requests"])


def post_script(body: dict[str, object]) -> str:
    return (f'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
            f"wrk.body = [==[{json.dumps(body)}]==]\n")


def query_body(rql: str, parameters: dict[str, object]) -> dict[str, object]:
    return {"Query": rql, "QueryParameters": parameters}


def random_vector(draws: random.Random) -> list[float]:
    return [round(draws.gauss(0, 1), 4) for _ in range(DIMENSIONS)]


def store_vectors(client: httpx.Client, count: int) -> None:
    draws = random.Random(7)
    for start in range(0, count, BULK_CHUNK):
        commands = [{"Type": "PUT", "Id": f"items/{n}", "ChangeVector": None,
                     "Document": {"Vector": random_vector(draws), "@metadata": {"@collection": "Items"}}}
                    for n in range(start, min(count, start + BULK_CHUNK))]
        client.post(f"/databases/{DATABASE}/bulk_docs", json={"Commands": commands}).raise_for_status()


def warm_up(client: httpx.Client, body: dict[str, object]) -> None:
    """The first query creates the auto-index; wait until it is current."""
    waiting = {**body, "WaitForNonStaleResults": True, "WaitForNonStaleResultsTimeout": "00:05:00"}
    client.post(QUERY_PATH, json=waiting, timeout=330).raise_for_status()


@dataclass(frozen=True)
class Memory:
    """A process's resident memory: anonymous (heaps, SQLite's page caches) and mapped files."""

    anonymous_kb: int
    file_kb: int

    @property
    def total_kb(self) -> int:
        return self.anonymous_kb + self.file_kb


def resident_memory(pid: int) -> Memory:
    """Read from ``/proc``; mapped database files and WAL indexes count as file-backed."""
    fields: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("RssAnon", "RssFile", "RssShmem"):
            fields[key] = int(value.split()[0])
    return Memory(fields["RssAnon"], fields["RssFile"] + fields["RssShmem"])


def growth_by_quarter(samples: list[Memory]) -> list[int]:
    """Anonymous memory gained in each quarter of the samples (a leak keeps its pace; a cache slows)."""
    marks = [samples[len(samples) * quarter // 4] for quarter in range(4)] + [samples[-1]]
    return [later.anonymous_kb - earlier.anonymous_kb for earlier, later in itertools.pairwise(marks)]


def best(runs: list[Run]) -> Run:
    """The run with the most requests/s; its latencies come along (the least disturbed run)."""
    return max(runs, key=lambda run: run.requests_per_second)


def fastest(runs: list[Run]) -> Run:
    return min(runs, key=lambda run: run.p50_us)


def load_average() -> str:
    return " ".join(f"{value:.1f}" for value in os.getloadavg())


def floor_main(port: int, body_file: Path) -> None:
    """The floor: one route answering fixed bytes, on rookdb's uvicorn stack."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from rookdb.server.http_protocol import RavenHttpProtocol
    from rookdb.server.responses import RawJsonResponse

    payload = body_file.read_bytes()

    async def document(request: Request) -> Response:
        return RawJsonResponse(payload)

    app = Starlette(routes=[Route("/databases/{database}/docs", document), Route("/build/version", document)])
    uvicorn.run(app, host="127.0.0.1", port=port, http=RavenHttpProtocol, access_log=False, log_level="warning",
                lifespan="off")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each wrk run")
    parser.add_argument("--rounds", type=int, default=2, help="runs per side of each comparison (best kept)")
    parser.add_argument("--vectors", type=int, default=2000, help="documents with a vector for the vector query")
    parser.add_argument("--soak-seconds", type=float, default=60.0, help="length of the soak (600 in the issue)")
    parser.add_argument("--floor-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--floor-body", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor_port is not None:
        floor_main(args.floor_port, args.floor_body)
        return 0
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/wrk")
    print(f"load average before: {load_average()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="rookdb-http-load-") as scratch:
        folder = Path(scratch)
        server = ServerProcess(folder / "data", arguments=["--with-sample", "northwind"], log=folder / "server.log")
        server.start(timeout=120)
        try:
            measure(server, folder, args)
        finally:
            server.stop()
    print(f"load average after: {load_average()}", flush=True)
    return 0


def measure(server: ServerProcess, folder: Path, args: argparse.Namespace) -> None:
    with httpx.Client(base_url=server.url, timeout=60) as client:
        payload = client.get(LOAD_PATH)
        payload.raise_for_status()
        (folder / "body.json").write_bytes(payload.content)
        store_vectors(client, args.vectors)
        equality = query_body(EQUALITY_RQL, {"c": "categories/1-A"})
        vector = query_body(VECTOR_RQL, {"v": random_vector(random.Random(11))})
        warm_up(client, equality)
        warm_up(client, vector)
    floor_port = ServerProcess(folder / "unused").port  # a free port
    floor = ChildProcess([sys.executable, __file__, "--floor-port", str(floor_port), "--floor-body",
                          str(folder / "body.json")], f"http://127.0.0.1:{floor_port}/build/version")
    with floor:
        floor_url = f"http://127.0.0.1:{floor_port}"
        table = Table(["measurement", "rookdb", "reference", "ratio", "goal"], [44, 30, 30, 7, 6])

        def compare(connections: int) -> tuple[list[Run], list[Run]]:
            ours: list[Run] = []
            theirs: list[Run] = []
            for _ in range(args.rounds):
                theirs.append(wrk(floor_url, LOAD_PATH, connections, args.seconds, "", folder))
                ours.append(wrk(server.url, LOAD_PATH, connections, args.seconds, "", folder))
            return ours, theirs

        ours, theirs = compare(CONNECTIONS)
        mine, floor_run = best(ours), best(theirs)
        table.row(f"GET /docs?id= req/s, {CONNECTIONS} connections (vs floor)",
                  f"{mine.requests_per_second:,.0f} (p99 {mine.p99_us / 1000:.1f} ms)",
                  f"{floor_run.requests_per_second:,.0f} (p99 {floor_run.p99_us / 1000:.1f} ms)",
                  f"{mine.requests_per_second / floor_run.requests_per_second:.2f}", f"≥ {GOALS['load ratio']}")
        ours, theirs = compare(1)
        mine, floor_run = fastest(ours), fastest(theirs)
        table.row("GET /docs?id= p50 µs, 1 connection (vs floor)",
                  f"{mine.p50_us:,.0f} µs ({mine.requests_per_second:,.0f} req/s)",
                  f"{floor_run.p50_us:,.0f} µs ({floor_run.requests_per_second:,.0f} req/s)",
                  f"{mine.p50_us / floor_run.p50_us:.2f}", f"≤ {GOALS['p50 ratio']}")
        for name, body in (("equality query", equality), ("vector query", vector)):
            script = post_script(body)
            single: list[Run] = []
            many: list[Run] = []
            for _ in range(args.rounds):
                single.append(wrk(server.url, QUERY_PATH, 1, args.seconds, script, folder))
                many.append(wrk(server.url, QUERY_PATH, CONNECTIONS, args.seconds, script, folder))
            one, sixteen = best(single), best(many)
            table.row(f"{name} req/s, {CONNECTIONS} vs 1 connection",
                      f"{sixteen.requests_per_second:,.0f} (p99 {sixteen.p99_us / 1000:.1f} ms)",
                      f"{one.requests_per_second:,.0f} (p99 {one.p99_us / 1000:.1f} ms)",
                      f"{sixteen.requests_per_second / one.requests_per_second:.2f}", f"≥ {GOALS['scaling']}")
        soak(server, folder, args.soak_seconds, equality, vector, table)


def soak(server: ServerProcess, folder: Path, seconds: float, equality: dict[str, object],
         vector: dict[str, object], table: Table) -> None:
    assert server.process is not None
    pid = server.process.pid
    script = (_SOAK.replace("NAME", DATABASE).replace("QUERY_PATH", QUERY_PATH).replace("PRODUCTS", str(PRODUCTS))
              .replace("EQUALITY_BODY", json.dumps(equality)).replace("VECTOR_BODY", json.dumps(vector)))
    acked_folder = folder / "acked"
    acked_folder.mkdir()
    samples = [resident_memory(pid)]
    stop = threading.Event()

    def sample() -> None:
        while not stop.wait(1.0):
            samples.append(resident_memory(pid))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        run = wrk(server.url, "/", CONNECTIONS, seconds, script, folder, (str(acked_folder),))
    finally:
        stop.set()
        sampler.join()
    samples.append(resident_memory(pid))
    before, after = samples[0], samples[-1]
    peak = max(sample.total_kb for sample in samples)
    quarters = growth_by_quarter(samples)
    table.row(f"soak {seconds:.0f} s, {CONNECTIONS} connections: errors",
              f"{run.errors:,} of {run.requests:,} requests", f"{run.requests_per_second:,.0f} req/s",
              "-", "0")
    table.row("soak: server RSS end vs start (MB)", f"{after.total_kb / 1024:,.1f} (peak {peak / 1024:,.1f})",
              f"{before.total_kb / 1024:,.1f}", f"{after.total_kb / before.total_kb:.2f}", "flat")
    table.row("soak: of which anonymous (MB)", f"{after.anonymous_kb / 1024:,.1f}",
              f"{before.anonymous_kb / 1024:,.1f}", f"{after.anonymous_kb / before.anonymous_kb:.2f}", "flat")
    table.row("soak: of which mapped files (MB)", f"{after.file_kb / 1024:,.1f}", f"{before.file_kb / 1024:,.1f}",
              f"{after.file_kb / max(before.file_kb, 1):.2f}", "-")
    table.row("soak: anonymous MB gained by quarter", " / ".join(f"{kb / 1024:,.1f}" for kb in quarters),
              "-", "-", "levels off")
    acked = [line for path in acked_folder.glob("acked-*.txt") for line in path.read_text().splitlines() if line]
    missing = 0
    with httpx.Client(base_url=server.url, timeout=60) as client:
        for start in range(0, len(acked), BULK_CHUNK):
            ids = acked[start:start + BULK_CHUNK]
            found = client.post(f"/databases/{DATABASE}/docs", json={"Ids": ids})
            found.raise_for_status()
            missing += sum(1 for document in found.json()["Results"] if document is None)
    table.row("soak: acknowledged writes read back", f"{len(acked) - missing:,} found",
              f"{len(acked):,} acknowledged", "-", "all")


if __name__ == "__main__":
    sys.exit(main())
