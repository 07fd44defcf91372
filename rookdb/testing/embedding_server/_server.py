"""`EmbeddingServer`: the app on 127.0.0.1 in a background thread, with faults, counters and requests."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterable
from typing import Any

import uvicorn

from rookdb.ai.embedded_model import EmbeddedModel, get_embedded_model
from rookdb.testing.embedding_server import vertex
from rookdb.testing.embedding_server._app import create_app
from rookdb.testing.embedding_server._faults import QuietDrops
from rookdb.testing.embedding_server._state import DEFAULT_MODELS, FaultKind, RecordedRequest, RouteStats, State

__all__ = ["EmbeddingServer"]

_GRACEFUL_SHUTDOWN_SECONDS = 1


class EmbeddingServer:
    """The app on 127.0.0.1 in a background thread; a context manager."""

    def __init__(
        self,
        *,
        api_key: str | None = "test-key",
        models: Iterable[str] = DEFAULT_MODELS,
        host: str = "127.0.0.1",
        port: int = 0,
        model: EmbeddedModel | None = None,
    ) -> None:
        self._state = State(api_key=api_key, models=set(models))
        self._model = model
        self._host, self._port = host, port
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.url = ""

    @property
    def api_key(self) -> str | None:
        return self._state.api_key

    @api_key.setter
    def api_key(self, value: str | None) -> None:
        self._state.api_key = value

    @property
    def models(self) -> set[str]:
        """Models (and Azure deployments) the server serves; others get the vendor's 404."""
        return self._state.models

    def start(self) -> EmbeddingServer:
        model = self._model or get_embedded_model()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self._host, self._port))
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        config = uvicorn.Config(create_app(self._state, model), log_config=None, log_level="warning",
                                access_log=False, lifespan="off",
                                timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS)
        logging.getLogger("uvicorn.error").addFilter(QuietDrops())
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"embedding-server-{port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("embedding server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=_GRACEFUL_SHUTDOWN_SECONDS + 5)
        self._server = self._thread = None

    def __enter__(self) -> EmbeddingServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def add_fault(self, kind: FaultKind, *, times: int | None = 1, routes: Iterable[str] | None = None,
                  **params: Any) -> None:
        """Fail the next ``times`` matching requests (None: until cleared). Parameters:
        ``estimated_time`` (loading), ``retry_after`` (rate_limit), ``max_batch`` and
        ``announce_limit`` (batch_limit), ``delay`` (slow), ``status`` (server_error), ``text`` and
        ``value`` (non_finite: the vectors of the texts containing ``text`` are all ``value``, NaN by
        default). Any fault takes ``probability`` (and ``seed``): then each matching request draws it
        with that chance, from a seeded sequence, and ``times`` counts the requests it failed."""
        self._state.add_fault(kind, times, routes, params)

    def clear_faults(self) -> None:
        self._state.reset(faults_only=True)

    def reset(self) -> None:
        """Forget faults, counters and recorded requests."""
        self._state.reset()

    def stats(self) -> dict[str, RouteStats]:
        with self._state.lock:
            return {route: RouteStats(s.requests, s.inputs, s.faults) for route, s in self._state.stats.items()}

    def requests(self, route: str | None = None) -> list[RecordedRequest]:
        with self._state.lock:
            return [r for r in self._state.log if route is None or r.route == route]

    def expire_tokens(self) -> None:
        """Make every issued Vertex access token invalid (as if revoked)."""
        with self._state.lock:
            self._state.tokens.clear()

    def create_service_account(self, *, project_id: str = "rookdb-test",
                               client_email: str = "embedder@rookdb-test.iam.gserviceaccount.com") -> str:
        """A service-account key file whose ``token_uri`` is this server; its key is trusted here."""
        return vertex.create_service_account(self._state, f"{self.url}/token", project_id=project_id,
                                             client_email=client_email)
