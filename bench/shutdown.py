"""How long ``rookdb serve`` takes to exit after SIGTERM or SIGINT while an embeddings task is working.

Run: .venv/bin/python bench/shutdown.py [--extra-products 3000] [--rounds 1]
(the test suite runs --extra-products 1000)

Each round starts ``rookdb serve --with-sample northwind`` in its own process (as users run it), adds
synthetic products so the task has minutes of work, defines an embeddings task on ``Products`` and
sends the signal once the task reports ``Running`` with some documents done. Two connectors:

- *embedded*: the embedded model, so a batch in flight is CPU-bound ONNX work;
- *slow HTTP*: the local embedding server (Hugging Face TEI protocol) holding every request for
  ``--provider-delay`` seconds, so a batch in flight waits on a provider that does not answer.

The time is from the signal to the process exit; the bound is the one ``docs/architecture.md``
states for a stop (``STOP_BOUND_SECONDS``).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from table import Table

from rookdb.server.runner import free_port
from rookdb.testing.server_process import ChildProcess, ServerProcess

DATABASE = "Northwind"
API_KEY = "bench-key"
MODEL = "sentence-transformers/all-MiniLM-L6-v2"
STOP_BOUND_SECONDS = 5.0
EXIT_TIMEOUT_SECONDS = 120.0
RUNNING_TIMEOUT_SECONDS = 120.0
POLL_SECONDS = 0.1
PROVIDER_CALL_SECONDS = 1.0
_BULK_PAGE = 500


@dataclass(frozen=True)
class Measure:
    connector: str
    signal_name: str
    seconds: float
    exit_code: int | None


def _products(count: int) -> list[dict[str, Any]]:
    return [{"Name": f"Bench product {n}",
             "Description": f"Item {n}: a bench product described in words of its own, number {n * 7919}.",
             "@metadata": {"@collection": "Products"}} for n in range(count)]


def _connection_string(connector: str, provider_url: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {"Name": "Bench", "Identifier": "bench", "ModelType": "TextEmbeddings", "Type": "Ai"}
    if connector == "embedded":
        body["EmbeddedSettings"] = {}
    else:
        body["HuggingFaceSettings"] = {"ApiKey": API_KEY, "Model": MODEL, "Endpoint": provider_url}
    return body


def _task() -> dict[str, Any]:
    paths = [{"Path": "Name", "ChunkingOptions": {"ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 512}},
             {"Path": "Description",
              "ChunkingOptions": {"ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 512}}]
    return {"EtlType": "EmbeddingsGeneration", "Name": "Bench", "Identifier": "bench-task",
            "ConnectionStringName": "Bench", "Collection": "Products", "EmbeddingsPathConfigurations": paths,
            "ChunkingOptionsForQuerying": {"ChunkingMethod": "PlainTextSplit", "MaxTokensPerChunk": 512},
            "Quantization": "Single"}


def _wait_running(client: httpx.Client, committed: bool) -> None:
    """Until the task is Running (and, when ``committed``, has written a batch already)."""
    deadline = time.monotonic() + RUNNING_TIMEOUT_SECONDS
    entry: dict[str, Any] = {}
    while time.monotonic() < deadline:
        [entry] = client.get(f"/databases/{DATABASE}/ai/tasks/progress").json()["Results"]
        if entry["State"] == "Running" and (entry["DocumentsChanged"] > 0 or not committed):
            return
        if entry["State"] == "Idle" and entry["DocumentsProcessed"] >= entry["DocumentsTotal"]:
            raise RuntimeError("the task finished before the signal: raise --extra-products")
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the task did not start in {RUNNING_TIMEOUT_SECONDS}s: {entry}")


def measure(data_dir: Path, connector: str, signal_number: signal.Signals, extra: int,
            provider_url: str | None) -> Measure:
    server = ServerProcess(data_dir, arguments=["--with-sample", "northwind"], log=data_dir.with_suffix(".log"))
    server.start()
    assert server.process is not None
    try:
        with httpx.Client(base_url=server.url, timeout=60) as client:
            products = _products(extra)
            for start in range(0, len(products), _BULK_PAGE):
                commands = [{"Type": "PUT", "Id": f"benchproducts/{start + n}", "Document": document}
                            for n, document in enumerate(products[start : start + _BULK_PAGE])]
                client.post(f"/databases/{DATABASE}/bulk_docs", json={"Commands": commands}).raise_for_status()
            client.put(f"/databases/{DATABASE}/admin/connection-strings",
                       json=_connection_string(connector, provider_url)).raise_for_status()
            client.put(f"/databases/{DATABASE}/admin/etl", json=_task()).raise_for_status()
            _wait_running(client, committed=connector == "embedded")
            time.sleep(PROVIDER_CALL_SECONDS)  # a provider call is in flight
        started = time.perf_counter()
        server.process.send_signal(signal_number)
        try:
            code: int | None = server.process.wait(EXIT_TIMEOUT_SECONDS)
        except Exception:
            code = None
        return Measure(connector, signal_number.name, time.perf_counter() - started, code)
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--extra-products", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument("--provider-delay", type=float, default=60.0)
    args = parser.parse_args()
    table = Table(["connector", "signal", "seconds to exit", "exit code", "within bound"], [9, 7, 15, 9, 12])
    port = free_port()
    provider_url = f"http://127.0.0.1:{port}"
    provider = ChildProcess([sys.executable, "-m", "rookdb.testing.embedding_server", "--port", str(port),
                             "--api-key", API_KEY], f"{provider_url}/health").start()
    try:
        with tempfile.TemporaryDirectory() as scratch:
            for round_number in range(args.rounds):
                for connector in ("embedded", "slow HTTP"):
                    for signal_number in (signal.SIGTERM, signal.SIGINT):
                        if connector == "slow HTTP":
                            httpx.post(f"{provider_url}/_control/faults", timeout=10, json={
                                "kind": "slow", "times": None, "delay": args.provider_delay}).raise_for_status()
                        folder = Path(scratch) / f"{round_number}-{connector.replace(' ', '-')}-{signal_number.name}"
                        result = measure(folder, connector, signal_number, args.extra_products, provider_url)
                        within = result.exit_code is not None and result.seconds <= STOP_BOUND_SECONDS
                        table.row(result.connector, result.signal_name, f"{result.seconds:.2f}",
                                  str(result.exit_code), "yes" if within else "NO")
                        httpx.delete(f"{provider_url}/_control/faults", timeout=10).raise_for_status()
    finally:
        provider.stop()
    print(f"bound: {STOP_BOUND_SECONDS:.1f} s from the signal to the exit")


if __name__ == "__main__":
    main()
