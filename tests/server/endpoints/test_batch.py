"""The bulk insert stream splitter: boundaries inside strings, tiny chunks, gzip, bad input."""

from __future__ import annotations

import contextlib
import gzip
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from rookdb.errors import BadRequestError
from rookdb.server.endpoints.batch import _CommandStream
from rookdb.server.runner import BackgroundServer
from rookdb.settings import Settings
from rookdb.storage.backends import open_backend
from rookdb.testing.server_process import ServerProcess

ROOT = Path(__file__).resolve().parents[3]
NODE_CLIENT = ROOT / "tests" / "node" / "node_modules" / "ravendb"
NODE_BULK_INSERT = ROOT / "bench" / "bulk_insert_node.mjs"  # the benchmark's Node.js row, here at a tiny size
COMMANDS = [
    {"Id": "a/1", "Type": "PUT", "Document": {"Text": 'tricky },{"Id": inside a string'}},
    {"Id": "a/2", "Type": "PUT", "Document": {"Text": "plain"}},
    {"Id": "a/3", "Type": "PUT", "Document": {"Nested": {"List": [1, 2, {"x": "}"}]}}},
]


def split(raw: bytes, chunk_size: int, compressed: bool = False) -> list[object]:
    stream = _CommandStream(compressed)
    parsed: list[object] = []
    for offset in range(0, len(raw), chunk_size):
        parsed += stream.feed(raw[offset:offset + chunk_size])
    return parsed + stream.finish()


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100_000])
def test_every_chunking_yields_the_same_commands(chunk_size: int) -> None:
    raw = json.dumps(COMMANDS, separators=(",", ":")).encode()
    assert split(raw, chunk_size) == COMMANDS


def test_gzip_stream() -> None:
    raw = gzip.compress(json.dumps(COMMANDS, separators=(",", ":")).encode())
    assert split(raw, 5, compressed=True) == COMMANDS


def test_empty_stream_is_no_commands() -> None:
    assert split(b"", 10) == []
    assert split(b"[]", 10) == []


@pytest.mark.parametrize("raw", [b"{}", b'[{"Id":"a"', b"[1,", b"not json"])
def test_malformed_stream_is_a_bad_request(raw: bytes) -> None:
    with pytest.raises(BadRequestError):
        split(raw, 3)


_COMMITTED_BEFORE_KILL = 3000
_STREAM_LIMIT = 2_000_000
_PADDING = "p" * 300


def _command(n: int) -> bytes:
    return orjson.dumps({"Id": f"products/{n}", "Type": "PUT", "Document": {
        "Number": n, "Padding": _PADDING, "@metadata": {"@collection": "Products"}}})


def test_sigkill_mid_stream_leaves_a_prefix_of_whole_documents(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", log=tmp_path / "server.log").start()
    try:
        httpx.put(f"{server.url}/admin/databases", params={"name": "Bulk"}, json={}).raise_for_status()
        stop = threading.Event()

        def commands() -> Iterator[bytes]:
            yield b"["
            for start in range(0, _STREAM_LIMIT, 200):
                if stop.is_set():
                    return
                yield (b"," if start else b"") + b",".join(_command(n) for n in range(start, start + 200))

        def stream() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server dies under it, as intended
                httpx.post(f"{server.url}/databases/Bulk/bulk_insert", params={"id": 1}, content=commands(), timeout=60)

        sender = threading.Thread(target=stream, daemon=True)
        sender.start()
        deadline = time.monotonic() + 120
        while httpx.get(f"{server.url}/databases/Bulk/stats", timeout=10).json()["CountOfDocuments"] < \
                _COMMITTED_BEFORE_KILL:
            assert time.monotonic() < deadline and sender.is_alive(), "the stream did not get going"
            time.sleep(0.05)
        server.kill()
        stop.set()
        sender.join(60)
    finally:
        server.kill()

    backend = open_backend(Settings(), tmp_path / "data")
    storage = backend.open("Bulk")
    try:
        assert storage.integrity_check() == []
        stored = list(storage.iter_collection("Products"))
        numbers = sorted(orjson.loads(document.body)["Number"] for document in stored)
        assert len(numbers) >= _COMMITTED_BEFORE_KILL
        assert numbers == list(range(len(numbers)))  # a prefix of the stream, nothing skipped
        for document in stored:
            body = orjson.loads(document.body)
            assert document.id == f"products/{body['Number']}" and body["Padding"] == _PADDING
    finally:
        storage.close()
        backend.close()


def test_the_stream_is_complete_at_the_closing_bracket_even_while_the_body_stays_open() -> None:
    # The Node.js client writes "]" and waits for the answer before it ends the request body.
    stream = _CommandStream(False)
    raw = json.dumps([*COMMANDS, {"Type": "HeartBeat"}], separators=(",", ":")).encode()
    parsed = stream.feed(raw[:40]) + stream.feed(raw[40:])
    assert stream.closed and parsed[:3] == COMMANDS
    assert stream.feed(b"anything after the end") == [] and stream.finish() == []


def test_a_bracket_closing_a_list_inside_a_document_is_not_the_end() -> None:
    stream = _CommandStream(False)
    assert stream.feed(b'[{"Id":"a/1","Type":"PUT","Document":{"List":[1,2]') == []
    assert not stream.closed
    assert stream.feed(b'}}]') == [{"Id": "a/1", "Type": "PUT", "Document": {"List": [1, 2]}}]
    assert stream.closed


def test_the_official_node_client_bulk_insert_completes(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node is not None and NODE_CLIENT.is_dir(), "run scripts/node-client"
    with BackgroundServer(tmp_path) as server:
        httpx.put(f"{server.url}/admin/databases", params={"name": "NodeBulk"}, json={}).raise_for_status()
        finished = subprocess.run([node, str(NODE_BULK_INSERT), server.url, "NodeBulk", "300"], capture_output=True,
                                  text=True, timeout=120, check=False)
        assert finished.returncode == 0, finished.stderr[-2000:]
        stats = httpx.get(f"{server.url}/databases/NodeBulk/stats").json()
        assert stats["Collections"] == {"Products": 300}
