"""The request flow every embedding route shares: record, authenticate, inject faults, check the model,
embed. Each vendor module supplies how to read its body and how to shape its answer."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from rookdb.ai.embedded_model import EmbeddedModel
from rookdb.testing.embedding_server._family import Family
from rookdb.testing.embedding_server._faults import NonFiniteJSONResponse, fault_response, spoil_vectors
from rookdb.testing.embedding_server._state import State

__all__ = ["Answer", "Flow", "TextsOf", "bearer", "texts_in"]

TextsOf = Callable[[Any], list[str] | None]
"""Reads the input texts from a request body; None when the body is not an embeddings request."""
Answer = Callable[[Any, list[list[float]], list[str]], Any]
"""Shapes the answer from the request body, the vectors and the texts."""


def bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def texts_in(field: str) -> TextsOf:
    """Texts given as ``body[field]``: one string or a list of strings."""
    def read(body: Any) -> list[str] | None:
        inputs = body.get(field) if isinstance(body, dict) else None
        if isinstance(inputs, str):
            return [inputs]
        return inputs if isinstance(inputs, list) and all(isinstance(t, str) for t in inputs) else None

    return read


def _no_dimensions(body: Any) -> Any:
    return None


class Flow:
    """The server's state and model, and the flow of one embedding request."""

    def __init__(self, state: State, model: EmbeddedModel) -> None:
        self.state = state
        self.model = model

    def key_ok(self, presented: str | None) -> bool:
        return self.state.api_key is None or presented == self.state.api_key

    async def embed(
        self, request: Request, route: str, family: Family, model_name: str | None, texts_of: TextsOf,
        presented_key: str | None, answer: Answer, *, check_model: bool = True, authorized: bool | None = None,
        token_level: Callable[[list[str]], Any] | None = None, dimensions_of: Callable[[Any], Any] = _no_dimensions,
    ) -> Response:
        """Answer one embedding request on ``route`` the way ``family`` does.

        ``model_name`` None takes the body's ``model``; ``authorized`` overrides the API-key check;
        ``token_level`` shapes the answer under the fault of that name.
        """
        state = self.state
        body = await self._read_json(request)
        if model_name is None and check_model and isinstance(body, dict):
            model_name = body.get("model")
        texts = texts_of(body) if body is not None else None
        state.record(route, request, body, len(texts or []))
        if not (self.key_ok(presented_key) if authorized is None else authorized):
            return family.unauthorized(presented_key)
        fault = state.take_fault(route)
        if fault is not None:
            if fault.kind == "slow":
                await asyncio.sleep(float(fault.params.get("delay", 1.0)))
            failed = fault_response(fault, family, model_name or "", len(texts or []))
            if failed is not None:
                return failed
        if check_model and (model_name is None or model_name not in state.models):
            return family.not_found(model_name or "")
        if texts is None:
            return family.error(400, "Request body is not a valid embeddings request.")
        if fault is not None and fault.kind == "token_level" and token_level is not None:
            return JSONResponse(token_level(texts))
        vectors = await self._vectors(texts, dimensions_of(body))
        if fault is not None and fault.kind == "non_finite":
            return NonFiniteJSONResponse(answer(body, spoil_vectors(fault, vectors, texts), texts))
        return JSONResponse(answer(body, vectors, texts))

    async def _vectors(self, texts: Sequence[str], dimensions: int | None = None) -> list[list[float]]:
        matrix = await run_in_threadpool(self.model.embed, list(texts))
        if dimensions is not None and 0 < dimensions < matrix.shape[1]:
            # Matryoshka-style shortening as OpenAI/Gemini do: truncate, then renormalise.
            matrix = matrix[:, :dimensions]
            matrix = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
        return matrix.tolist()  # type: ignore[no-any-return]

    @staticmethod
    async def _read_json(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except ValueError:
            return None
