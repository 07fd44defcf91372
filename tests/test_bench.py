"""Every benchmark script runs at a tiny size, exits 0 and prints its table, so published figures stay reproducible."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.waiting import wait_for

BENCH = Path(__file__).resolve().parents[1] / "bench"
MODULES = {"table.py"}  # imported by the scripts, not run on its own
HTTP_ROWS = ["rookdb HTTP, ids", "rookdb HTTP, ids, Base64 $v", "rookdb HTTP, ids, httpx+orjson",
             "rookdb HTTP, documents", "chroma"]
# Per script: the arguments of a tiny run, and the first cell of each row its table must show, in order
# (a prefix: peers add their version, or say they were skipped).
TINY_RUNS: dict[str, tuple[list[str], list[str]]] = {
    "bulk_insert.py": (["--documents", "200"], [
        "raw SQLite executemany (limit)", "bulk_insert endpoint, pre-encoded stream", "raw SQLite executemany (limit)",
        "Node.js client `store.bulkInsert()`", "raw SQLite executemany (limit)",
        "official Python client `store()`, no server", "raw SQLite executemany (limit)",
        "`store.bulk_insert()` over HTTP", "raw SQLite executemany (limit)",
        "official Python client `store()`, no server", "raw SQLite executemany (limit)",
        "`session.save_changes()` x1000", "raw SQLite executemany (limit)"]),
    "embeddings_task.py": (["--documents", "50", "--rate-limit-documents", "60", "--rate-limit-runs", "1"],
                           ["embedded model", "HF protocol server (TEI)", "429 run 1"]),
    "embeddings_migration.py": (["--documents", "60", "--queries", "30"], ["60"]),
    "embeddings_commit.py": (["--documents", "256"], ["one part", "parts with pauses"]),
    "expiration.py": (["--documents", "300"], ["index", "delete"]),
    # Its HTTP rows are the run of vector_search_http.py below.
    "vector_search.py": (["--vectors", "500", "--queries", "60", "--skip-http"], [
        "rookdb Single", "rookdb Single exact()", "rookdb Int8", "rookdb Binary", "usearch", "usearch 16/16",
        "numpy exact", "chroma", "lancedb"]),
    "vector_search_http.py": (["--vectors", "500", "--queries", "60"], HTTP_ROWS),
    "shutdown.py": (["--extra-products", "1000"], ["embedded", "embedded", "slow HTTP", "slow HTTP"]),
    # One size: its table when measured, then the table of all sizes.
    "queries.py": (["--documents", "500", "--repeats", "5", "--scan-repeats", "3"], ["500"] * 12),
    "secured_requests.py": (["--requests", "40"], ["official client, keep-alive", "new connection per request"]),
    "http_load.py": (["--seconds", "1", "--rounds", "1", "--vectors", "100", "--soak-seconds", "2"], [
        "GET /docs?id= req/s", "GET /docs?id= p50", "equality query", "vector query", "soak 2 s", "soak: server RSS",
        "soak: of which anonymous", "soak: of which mapped files", "soak: anonymous MB gained by quarter",
        "soak: acknowledged writes"]),
    "cluster.py": (["--documents", "200", "--operations", "100", "--embeddings", "150", "--provider-latency", "0.05"],
                   ["SQLite", "PostgreSQL", "PostgreSQL / SQLite", "1 node", "2 nodes", "3 nodes"]),
    "static_indexing.py": (["--documents", "300"], ["auto-index", "LINQ map", "JavaScript map", "LINQ map-reduce",
                                                     "group by (auto map-reduce)"]),
    "patch.py": (["--documents", "300", "--writes", "200"], [
        "raw SQLite json_set, before", "raw SQLite json_set, after", "`PatchByQueryOperation` over HTTP",
        "`for_all_documents` notification"]),
}


def scripts() -> list[str]:
    return sorted(path.name for path in BENCH.glob("*.py") if path.name not in MODULES)


def table_rows(output: str) -> list[list[str]]:
    """The data rows of the Markdown table(s) in ``output`` (headers and separators left out), as lists of cells."""
    rows = [[cell.strip() for cell in line.strip().strip("|").split("|")]
            for line in output.splitlines() if line.startswith("|")]
    separator = [all(set(cell) <= {"-", ":"} for cell in row) for row in rows]
    return [row for n, row in enumerate(rows)
            if not separator[n] and not (n + 1 < len(rows) and separator[n + 1])]


def run_in_own_group(command: list[str], timeout: float) -> tuple[int, str, str]:
    """Run ``command`` in a process group of its own: (exit status, stdout, stderr). Past ``timeout``,
    or when the test itself is interrupted, the whole group is killed: the servers and peers a bench
    script starts must not outlive it."""
    process = subprocess.Popen(command, cwd=BENCH.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"{command[1]} did not finish within {timeout:g}s\n{stdout[-2000:]}{stderr[-4000:]}")
    finally:
        if process.returncode is None:  # interrupted (the suite's own timeout): take the group down too
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    return process.returncode, stdout, stderr


# A tiny run takes well under a minute on a quiet machine; the margin is for cores shared with other work.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("script", scripts())
def test_script_runs_at_a_tiny_size_and_prints_its_table(script: str) -> None:
    assert script in TINY_RUNS, f"bench/{script} has no tiny run here: add its arguments and rows to TINY_RUNS"
    arguments, expected = TINY_RUNS[script]
    returncode, stdout, stderr = run_in_own_group([sys.executable, str(BENCH / script), *arguments], timeout=840)
    assert returncode == 0, stdout[-2000:] + stderr[-4000:]
    rows = table_rows(stdout)
    assert len(rows) == len(expected), stdout
    for row, label in zip(rows, expected, strict=True):
        assert row[0].startswith(label), (row, label)
        measured = row[1:-1] if script.startswith("vector_search") else row[1:]
        assert any(char.isdigit() for cell in measured for char in cell) or row[-1].startswith("skipped"), row


def running(pid: int) -> bool:
    """True while ``pid`` runs (a zombie waiting to be reaped has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_a_run_past_its_timeout_takes_the_processes_it_started_down(tmp_path: Path) -> None:
    pid_file = tmp_path / "grandchild.pid"
    starts_a_grandchild = ("import pathlib, subprocess, sys, time; "
                           "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(600)']); "
                           f"pathlib.Path({str(pid_file)!r}).write_text(str(child.pid)); time.sleep(600)")
    timeout = 1.0
    while not pid_file.exists():  # a loaded machine may need longer to get the grandchild going
        timeout *= 2
        with pytest.raises(pytest.fail.Exception, match="did not finish within"):
            run_in_own_group([sys.executable, "-c", starts_a_grandchild], timeout=timeout)
    wait_for(lambda: not running(int(pid_file.read_text())), what="the grandchild to be killed")
