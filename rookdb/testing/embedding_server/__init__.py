"""A local embedding server that speaks each provider's published protocol, for tests and benchmarks.

It answers with real vectors from the embedded model and imitates each vendor's authentication,
unknown-model and error bodies, so providers are proved against the contract rather than against a
stub that merely agrees with them. Faults are injected at run time, and every request is counted
and recorded::

    with EmbeddingServer(api_key="hf_test") as srv:
        srv.add_fault("loading", estimated_time=0.05)
        ...  # point a connection string at srv.url
        assert srv.stats()["hf-router"].requests == 2

or, from another process: ``python -m rookdb.testing.embedding_server --port 8090`` plus the
``/_control`` API (``GET /_control/stats``, ``POST``/``DELETE /_control/faults``,
``POST /_control/reset``).

One module per vendor family (``huggingface`` with TEI, ``openai``, ``azure_openai``, ``mistral``,
``ollama``, ``google``, ``vertex``) holds its routes, request and answer shapes and error bodies;
the request flow they share (record, authenticate, inject faults, check the model, embed) is
``_flow``, the faults ``_faults``.
"""

from rookdb.testing.embedding_server._app import create_app
from rookdb.testing.embedding_server._server import EmbeddingServer
from rookdb.testing.embedding_server._state import DEFAULT_MODELS, FaultKind, RecordedRequest, RouteStats

__all__ = ["DEFAULT_MODELS", "EmbeddingServer", "FaultKind", "RecordedRequest", "RouteStats", "create_app"]
