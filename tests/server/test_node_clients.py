"""Document core through both lines of the official Node.js client (7.2 and 5.4) against one server:
the record, HiLo, patches, attachments, lazy operations, changes, compare-exchange, identities,
patch by query and statistics (``tests/node/document_core.mjs``); static indexes (a JavaScript index and
a LINQ index with a vector field) through the 7.2 line (``tests/node/static_indexes.mjs``)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from rookdb.server.runner import BackgroundServer
from tests.support.stores import StoreFactory

NODE_CLIENTS = Path(__file__).resolve().parents[1] / "node"
NODE_TIMEOUT_SECONDS = 120


@pytest.mark.slow
@pytest.mark.parametrize("module", ["ravendb", "ravendb-5.4"])
def test_document_core_through_the_node_client(module: str, server: BackgroundServer,
                                                new_store: StoreFactory) -> None:
    assert (NODE_CLIENTS / "node_modules" / module).is_dir(), "run scripts/node-client"
    executable = shutil.which("node")
    assert executable is not None, "node is missing: run scripts/node-client"
    database = new_store().database
    finished = subprocess.run([executable, "document_core.mjs", module, server.url, database], cwd=NODE_CLIENTS,
                              capture_output=True, text=True, timeout=NODE_TIMEOUT_SECONDS, check=True)
    seen = json.loads(finished.stdout.strip().splitlines()[-1])
    assert "error" not in seen, seen
    assert seen == {
        "lockMode": "Unlock", "hiloId": "users/1-A", "patchStatus": "Patched", "ageAfterIncrement": 36,
        "attachment": "hello node", "attachmentType": "text/plain",
        "lazy": {"name": "Nine", "count": 3, "requests": 1},
        "compareExchange": "users/1", "compareExchangeRefused": True, "identityId": "people/1", "nextIdentity": 2,
        "adult": True, "statistics": {"identities": 1, "compareExchange": 1, "attachments": 1}, "changes": ["Put"],
    }


@pytest.mark.slow
def test_static_indexes_through_the_node_client(server: BackgroundServer, new_store: StoreFactory) -> None:
    executable = shutil.which("node")
    assert executable is not None, "node is missing: run scripts/node-client"
    database = new_store().database
    finished = subprocess.run([executable, "static_indexes.mjs", "ravendb", server.url, database], cwd=NODE_CLIENTS,
                              capture_output=True, text=True, timeout=NODE_TIMEOUT_SECONDS, check=True)
    seen = json.loads(finished.stdout.strip().splitlines()[-1])
    assert "error" not in seen, seen
    assert seen == {
        "types": ["Map", "JavaScriptMap"],
        "vectorOptions": {"dimensions": 3, "sourceEmbeddingType": "Single", "destinationEmbeddingType": "Single",
                          "numberOfEdges": None, "numberOfCandidatesForIndexing": None},
        "nearFirst": ["movies/1", "movies/2"], "nearFirstDrama": ["movies/3"],
        "byStudio": ["movies/3", "movies/4"], "byStudioVector": ["movies/4"],
        "afterRename": ["movies/3", "movies/4"], "entries": 4,
    }
