"""The local embedding server itself: vendor-shaped answers, faults, counters, control API, CLI."""

from __future__ import annotations

import json
import math
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pytest

from rookdb.ai.embedded_model import get_embedded_model
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY as API_KEY

MODEL = "sentence-transformers/all-MiniLM-L6-v2"
ROUTER = f"/hf-inference/models/{MODEL}/pipeline/feature-extraction"
BEARER = {"Authorization": f"Bearer {API_KEY}"}


def client(srv: EmbeddingServer) -> httpx.Client:
    return httpx.Client(base_url=srv.url, timeout=10)


def test_router_answers_real_embeddings(srv: EmbeddingServer) -> None:
    with client(srv) as http:
        response = http.post(ROUTER, json={"inputs": ["a", "b"]}, headers=BEARER)
    assert response.status_code == 200
    np.testing.assert_allclose(response.json(), get_embedded_model().embed(["a", "b"]), atol=1e-6)


def test_string_input_is_wrapped_2d(srv: EmbeddingServer) -> None:
    with client(srv) as http:
        body = http.post("/embed", json={"inputs": "single"}, headers=BEARER).json()
    assert len(body) == 1 and len(body[0]) == 384


@pytest.mark.parametrize(("path", "headers", "status", "fragment"), [
    (ROUTER, {}, 401, "Invalid credentials"),
    ("/embed", {"Authorization": "Bearer wrong"}, 401, ""),
    ("/v1/embeddings", {"Authorization": "Bearer sk-wrong-123"}, 401, "invalid_api_key"),
    ("/openai/deployments/text-embedding-3-small/embeddings?api-version=2024-10-21", {"api-key": "x"}, 401,
     "Access denied"),
    ("/mistral/v1/embeddings", {}, 401, "Unauthorized"),
    ("/v1beta/models/text-embedding-004:batchEmbedContents", {"x-goog-api-key": "bad"}, 400,
     "API_KEY_INVALID"),
    ("/v1beta/models/text-embedding-004:batchEmbedContents", {}, 403, "PERMISSION_DENIED"),
])
def test_each_vendor_refuses_a_wrong_key_its_own_way(srv: EmbeddingServer, path: str, headers: dict[str, str],
                                                     status: int, fragment: str) -> None:
    with client(srv) as http:
        response = http.post(path, json={"inputs": ["a"], "input": ["a"], "model": "text-embedding-3-small"},
                             headers=headers)
    assert response.status_code == status
    assert fragment in response.text
    if path == "/embed":
        assert response.content == b""  # TEI: bare 401


def test_tei_info_and_health(srv: EmbeddingServer) -> None:
    with client(srv) as http:
        info = http.get("/info", headers=BEARER).json()
        assert http.get("/health").status_code == 200
        assert http.get("/").status_code == 200
    assert info["max_client_batch_size"] == 32 and info["model_type"] == {"embedding": {"pooling": "mean"}}


def test_counters_and_recorded_requests(srv: EmbeddingServer) -> None:
    with client(srv) as http:
        http.post(ROUTER, json={"inputs": ["a", "b", "c"]}, headers=BEARER)
        http.post("/api/embed", json={"model": "all-minilm", "input": ["x"]})
    stats = srv.stats()
    assert (stats["hf-router"].requests, stats["hf-router"].inputs) == (1, 3)
    assert (stats["ollama"].requests, stats["ollama"].inputs) == (1, 1)
    [recorded] = srv.requests("ollama")
    assert recorded.body == {"model": "all-minilm", "input": ["x"]} and recorded.method == "POST"


def test_faults_are_consumed_per_route(srv: EmbeddingServer) -> None:
    srv.add_fault("loading", times=2, estimated_time=12.5, routes=["hf-router"])
    with client(srv) as http:
        assert http.post("/embed", json={"inputs": ["a"]}, headers=BEARER).status_code == 200
        first = http.post(ROUTER, json={"inputs": ["a"]}, headers=BEARER)
        second = http.post(ROUTER, json={"inputs": ["a"]}, headers=BEARER)
        third = http.post(ROUTER, json={"inputs": ["a"]}, headers=BEARER)
    assert first.status_code == second.status_code == 503
    assert first.json() == {"error": f"Model {MODEL} is currently loading", "estimated_time": 12.5}
    assert third.status_code == 200


def test_rate_limit_fault_sets_retry_after(srv: EmbeddingServer) -> None:
    srv.add_fault("rate_limit", retry_after=7)
    with client(srv) as http:
        response = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["a"]},
                             headers=BEARER)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"


def test_a_fault_with_a_probability_fails_that_share_of_requests_and_is_counted(srv: EmbeddingServer) -> None:
    srv.add_fault("rate_limit", times=None, probability=0.3, seed=7, routes=["tei-embed"])
    with client(srv) as http:
        codes = [http.post("/embed", json={"inputs": ["a"]}, headers=BEARER).status_code for _ in range(60)]
    stats = srv.stats()["tei-embed"]
    assert codes.count(429) == stats.faults and stats.requests == 60
    assert 6 <= codes.count(429) <= 30 and set(codes) == {200, 429}


def test_batch_limit_is_tei_shaped(srv: EmbeddingServer) -> None:
    srv.add_fault("batch_limit", times=None, max_batch=2)
    with client(srv) as http:
        refused = http.post("/embed", json={"inputs": ["a", "b", "c"]}, headers=BEARER)
        accepted = http.post("/embed", json={"inputs": ["a", "b"]}, headers=BEARER)
        info = http.get("/info", headers=BEARER).json()
    assert refused.status_code == 422
    assert refused.json() == {"error": "batch size 3 > maximum allowed batch size 2", "error_type": "Validation"}
    assert accepted.status_code == 200 and info["max_client_batch_size"] == 2


def test_dropped_connection(srv: EmbeddingServer) -> None:
    srv.add_fault("drop")
    with client(srv) as http, pytest.raises(httpx.RemoteProtocolError):
        http.post(ROUTER, json={"inputs": ["a"]}, headers=BEARER)


def test_non_finite_fault_spoils_only_the_matching_texts(srv: EmbeddingServer) -> None:
    srv.add_fault("non_finite", text="bad", routes=["openai"])
    with client(srv) as http:
        response = http.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": ["good", "bad one"]},
                             headers=BEARER)
    assert response.status_code == 200 and b"NaN" in response.content
    data = {item["index"]: item["embedding"] for item in json.loads(response.content)["data"]}
    assert all(math.isnan(x) for x in data[1]) and not any(math.isnan(x) for x in data[0])


def test_unknown_fault_is_refused(srv: EmbeddingServer) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        srv.add_fault("explode")  # type: ignore[arg-type]


def test_models_are_configurable(srv: EmbeddingServer) -> None:
    srv.models.add("org/custom-model")
    try:
        with client(srv) as http:
            path = "/hf-inference/models/org/custom-model/pipeline/feature-extraction"
            assert http.post(path, json={"inputs": ["a"]}, headers=BEARER).status_code == 200
    finally:
        srv.models.discard("org/custom-model")
    with client(srv) as http:
        assert http.post(path, json={"inputs": ["a"]}, headers=BEARER).status_code == 404


def test_control_api(srv: EmbeddingServer) -> None:
    with client(srv) as http:
        assert http.post("/_control/faults", json={"kind": "server_error", "times": 1, "status": 502}
                         ).status_code == 204
        assert http.post(ROUTER, json={"inputs": ["a"]}, headers=BEARER).status_code == 502
        assert http.get("/_control/stats").json()["hf-router"] == {"requests": 1, "inputs": 1, "faults": 1}
        http.post("/_control/faults", json={"kind": "unauthorized", "times": None})
        assert http.delete("/_control/faults").status_code == 204
        assert http.post(ROUTER, json={"inputs": ["a"]}, headers=BEARER).status_code == 200
        assert http.post("/_control/reset").status_code == 204
        assert http.get("/_control/stats").json() == {}


def test_vertex_token_requires_a_signed_assertion(srv: EmbeddingServer) -> None:
    with client(srv) as http:
        response = http.post("/token", data={"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
                                             "assertion": "a.b.c"})
        predict = http.post("/v1/projects/p/locations/l/publishers/google/models/text-embedding-005:predict",
                            json={"instances": [{"content": "a"}]}, headers={"Authorization": "Bearer forged"})
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"
    assert predict.status_code == 401 and "UNAUTHENTICATED" in predict.text


def test_server_without_a_key_accepts_anything() -> None:
    with EmbeddingServer(api_key=None) as open_server, client(open_server) as http:
        assert http.post(ROUTER, json={"inputs": ["a"]}).status_code == 200


def test_runs_as_a_module_on_a_given_port() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    process = subprocess.Popen([sys.executable, "-m", "rookdb.testing.embedding_server", "--port", str(port),
                                "--api-key", "k"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.post(f"http://127.0.0.1:{port}/embed", json={"inputs": ["a"]},
                                      headers={"Authorization": "Bearer k"}, timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline and process.poll() is None
                time.sleep(0.1)
        assert response.status_code == 200 and len(response.json()[0]) == 384
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_package_exports() -> None:
    import rookdb.testing

    assert rookdb.testing.__all__ == ["EmbeddingServer"]
    assert rookdb.testing.EmbeddingServer is EmbeddingServer
