"""What the local embedding server remembers: models, faults to inject, counters and recorded requests."""

from __future__ import annotations

import random
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.requests import Request

__all__ = ["DEFAULT_MODELS", "Fault", "FaultKind", "RecordedRequest", "RouteStats", "State"]

DEFAULT_MODELS = (
    "sentence-transformers/all-MiniLM-L6-v2",
    "text-embedding-3-small",
    "mistral-embed",
    "all-minilm",
    "text-embedding-004",
    "text-embedding-005",
)
FaultKind = Literal["unauthorized", "model_not_found", "loading", "rate_limit", "batch_limit", "retired",
                    "slow", "drop", "wrong_shape", "token_level", "server_error", "non_finite"]
_ACCESS_TOKEN_LIFETIME = 3600


@dataclass
class RouteStats:
    requests: int = 0
    inputs: int = 0
    faults: int = 0
    """Requests that drew an injected fault."""


@dataclass(frozen=True)
class RecordedRequest:
    route: str
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: Any


@dataclass
class Fault:
    kind: FaultKind
    remaining: int | None
    routes: frozenset[str] | None
    params: dict[str, Any]
    draw: random.Random | None = None
    """With a ``probability`` parameter: the seeded draw deciding which matching requests fail."""


@dataclass
class State:
    api_key: str | None
    models: set[str]
    lock: threading.Lock = field(default_factory=threading.Lock)
    faults: list[Fault] = field(default_factory=list)
    stats: dict[str, RouteStats] = field(default_factory=dict)
    log: list[RecordedRequest] = field(default_factory=list)
    public_keys: dict[str, rsa.RSAPublicKey] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)
    token_lifetime: int = _ACCESS_TOKEN_LIFETIME

    def add_fault(self, kind: str, times: int | None, routes: Iterable[str] | None, params: dict[str, Any]) -> None:
        if kind not in get_args(FaultKind):
            raise ValueError(f"unknown fault {kind!r}; expected one of {get_args(FaultKind)}")
        scope = None if routes is None else frozenset(routes)
        draw = random.Random(params.get("seed", 0)) if "probability" in params else None
        with self.lock:
            self.faults.append(Fault(kind, times, scope, params, draw))  # type: ignore[arg-type]

    def reset(self, *, faults_only: bool = False) -> None:
        with self.lock:
            self.faults.clear()
            if not faults_only:
                self.stats.clear()
                self.log.clear()

    def take_fault(self, route: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.routes is None or route in fault.routes:
                    if fault.draw is not None and fault.draw.random() >= float(fault.params["probability"]):
                        continue
                    self.stats.setdefault(route, RouteStats()).faults += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                        if fault.remaining <= 0:
                            self.faults.remove(fault)
                    return fault
        return None

    def record(self, route: str, request: Request, body: Any, inputs: int) -> None:
        headers = {key.lower(): value for key, value in request.headers.items()}
        with self.lock:
            stats = self.stats.setdefault(route, RouteStats())
            stats.requests += 1
            stats.inputs += inputs
            self.log.append(RecordedRequest(route, request.method, request.url.path,
                                            dict(request.query_params), headers, body))
