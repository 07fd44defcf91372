"""Every benchmark script runs at a tiny size, exits 0 and prints its table, so published figures stay reproducible."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench"
MODULES = {"table.py"}  # imported by the scripts, not run on its own
HTTP_ROWS = ["rookdb HTTP, ids", "rookdb HTTP, ids, Base64 $v", "rookdb HTTP, ids, httpx+orjson",
             "rookdb HTTP, documents", "chroma"]
# Per script: the arguments of a tiny run, and the first cell of each row its table must show, in order
# (a prefix: peers add their version, or say they were skipped).
TINY_RUNS: dict[str, tuple[list[str], list[str]]] = {
    "bulk_insert.py": (["--documents", "200"], [
        "raw SQLite executemany (limit)", "`store.bulk_insert()` over HTTP", "`session.save_changes()` x1000",
        "bulk_insert endpoint, pre-encoded stream", "Node.js client `store.bulkInsert()`",
        "official client encoding alone (ceiling)"]),
    "embeddings_task.py": (["--documents", "50", "--rate-limit-documents", "60", "--rate-limit-runs", "1"],
                           ["embedded model", "HF protocol server (TEI)", "429 run 1"]),
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
        "soak: acknowledged writes"]),
    "cluster.py": (["--documents", "200", "--operations", "100"], ["SQLite", "PostgreSQL", "PostgreSQL / SQLite"]),
    "static_indexing.py": (["--documents", "300"], ["auto-index", "LINQ map", "JavaScript map", "LINQ map-reduce"]),
    "patch.py": (["--documents", "300", "--writes", "200"], [
        "raw SQLite json_set", "`PatchByQueryOperation` over HTTP", "`for_all_documents` notification"]),
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


# A tiny run takes well under a minute on a quiet machine; the margin is for cores shared with other work.
@pytest.mark.timeout(900)
@pytest.mark.parametrize("script", scripts())
def test_script_runs_at_a_tiny_size_and_prints_its_table(script: str) -> None:
    assert script in TINY_RUNS, f"bench/{script} has no tiny run here: add its arguments and rows to TINY_RUNS"
    arguments, expected = TINY_RUNS[script]
    finished = subprocess.run([sys.executable, str(BENCH / script), *arguments], cwd=BENCH.parent,
                              capture_output=True, text=True, timeout=840, check=False)
    assert finished.returncode == 0, finished.stdout[-2000:] + finished.stderr[-4000:]
    rows = table_rows(finished.stdout)
    assert len(rows) == len(expected), finished.stdout
    for row, label in zip(rows, expected, strict=True):
        assert row[0].startswith(label), (row, label)
        measured = row[1:-1] if script.startswith("vector_search") else row[1:]
        assert any(char.isdigit() for cell in measured for char in cell) or row[-1].startswith("skipped"), row
