"""What secured mode costs per request: document loads over TLS with a client certificate vs plain HTTP.

Run: .venv/bin/python bench/secured_requests.py [--requests 2000]

Two servers run side by side on loopback over the same documents, one unsecured (the limit) and one
set up with ``rookdb certs init``. Rows:

- *official client, keep-alive*: ``session.load`` through the official Python client, one request
  per load on a kept-alive connection: TLS record costs plus authentication and authorization.
- *new connection per request*: ``httpx`` opening a connection for every GET, so secured mode pays
  a full TLS handshake (with the client certificate) each time.

The goal is a secured keep-alive rate of at least ``KEEP_ALIVE_GOAL`` of the unsecured one.
"""

from __future__ import annotations

import argparse
import ssl
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import httpx
from ravendb import DocumentStore
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.common import CreateDatabaseOperation

from rookdb.security import SecurityFiles, initialize
from rookdb.server.runner import BackgroundServer

DATABASE = "Bench"
DOCUMENTS = 100
KEEP_ALIVE_GOAL = 0.7
NEW_CONNECTION_SHARE = 10  # the handshake rows run 1/10 of the requests: each one is a full connection


def _store(server: BackgroundServer, files: SecurityFiles | None) -> DocumentStore:
    store = DocumentStore([server.url], DATABASE)
    if files is not None:
        store.certificate_pem_path = str(files.admin)
        store.trust_store_path = str(files.authority)
    store.initialize()
    return store


def _rate(count: int, action: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for n in range(count):
        action(n)
    return count / (time.perf_counter() - started)


def _loads(store: DocumentStore, count: int) -> float:
    def load(n: int) -> object:
        with store.open_session() as session:
            return session.load(f"items/{n % DOCUMENTS}")

    return _rate(count, load)


def _new_connections(server: BackgroundServer, files: SecurityFiles | None, count: int) -> float:
    verify: ssl.SSLContext | bool = False
    if files is not None:
        context = ssl.create_default_context(cafile=str(files.authority))
        context.load_cert_chain(str(files.admin))
        verify = context

    def get(n: int) -> object:
        with httpx.Client(verify=verify) as client:
            response = client.get(f"{server.url}/databases/{DATABASE}/docs", params={"id": f"items/{n % DOCUMENTS}"})
            response.raise_for_status()
            return response

    return _rate(count, get)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rookdb-bench-secured-") as folder:
        plain_dir, secured_dir = Path(folder) / "plain", Path(folder) / "secured"
        files = initialize(secured_dir).files
        rows: list[tuple[str, float, float]] = []
        with BackgroundServer(plain_dir) as plain, BackgroundServer(secured_dir) as secured:
            stores = {"plain": _store(plain, None), "secured": _store(secured, files)}
            for store in stores.values():
                store.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(DATABASE)))
                with store.open_session() as session:
                    for n in range(DOCUMENTS):
                        session.store({"Name": f"item {n}", "Price": n}, f"items/{n}")
                    session.save_changes()
            print("| path | unsecured req/s | secured req/s | secured vs unsecured |")
            print("|---|---:|---:|---:|")
            handshakes = args.requests // NEW_CONNECTION_SHARE
            measures: list[tuple[str, Callable[[], float], Callable[[], float]]] = [
                ("official client, keep-alive", lambda: _loads(stores["plain"], args.requests),
                 lambda: _loads(stores["secured"], args.requests)),
                ("new connection per request", lambda: _new_connections(plain, None, handshakes),
                 lambda: _new_connections(secured, files, handshakes)),
            ]
            for label, unsecured_run, secured_run in measures:
                unsecured_rate, secured_rate = unsecured_run(), secured_run()
                rows.append((label, unsecured_rate, secured_rate))
                ratio = secured_rate / unsecured_rate
                print(f"| {label} | {unsecured_rate:,.0f} | {secured_rate:,.0f} | {ratio:.2f} |", flush=True)
            for store in stores.values():
                store.close()
        keep_alive = rows[0][2] / rows[0][1]
        verdict = "met" if keep_alive >= KEEP_ALIVE_GOAL else "NOT met"
        print(f"\nGoal: secured keep-alive >= {KEEP_ALIVE_GOAL:.2f} of unsecured: {keep_alive:.2f}, {verdict}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
