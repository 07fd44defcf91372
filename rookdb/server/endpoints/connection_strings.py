"""``/admin/connection-strings`` (AI connection strings) and ``/admin/ai/test-connection``."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.ai.connection_strings import (
    keep_unsent,
    parse_connection_string,
    render_connection_string,
    restore_masked,
)
from rookdb.ai.connection_test import test_connection
from rookdb.ai.prompts import prompts_for
from rookdb.errors import BadRequestError, NotFoundError
from rookdb.server.requests import database_of, query_required, read_json
from rookdb.server.responses import json_response

__all__ = ["get_connection_strings", "put_connection_string", "remove_connection_string", "test_ai_connection"]

_AI = "Ai"
_OTHER_KINDS = ("RavenConnectionStrings", "SqlConnectionStrings", "OlapConnectionStrings",
                "ElasticSearchConnectionStrings", "QueueConnectionStrings", "SnowflakeConnectionStrings")


def _check_type(request: Request) -> None:
    kind = request.query_params.get("type")
    if kind is not None and kind.lower() not in ("ai", "none", ""):
        raise BadRequestError(f"Only AI connection strings are supported (type=Ai), not '{kind}'.")


async def put_connection_string(request: Request) -> Response:
    database = database_of(request)
    body = await read_json(request)
    if isinstance(body, dict) and body.get("Type") not in (None, _AI):
        raise BadRequestError(f"Only AI connection strings are supported (Type 'Ai'), not '{body.get('Type')}'.")
    etag = await run_in_threadpool(database.ai.put_connection_string, body)
    return json_response({"RaftCommandIndex": etag})


async def get_connection_strings(request: Request) -> Response:
    database = database_of(request)
    _check_type(request)
    name = request.query_params.get("connectionStringName")

    def collect() -> dict[str, Any]:
        strings = database.ai.connection_strings()
        if name is not None:
            strings = {key: value for key, value in strings.items() if key == name}
        return {
            key: {**render_connection_string(value),
                  "UsedBy": [usage.to_json() for usage in database.ai.usage(key)]}
            for key, value in sorted(strings.items(), key=lambda item: item[0].lower())
        }

    found = await run_in_threadpool(collect)
    if name is not None and not found:
        raise NotFoundError(f"AI connection string '{name}' does not exist.")
    return json_response({**{kind: {} for kind in _OTHER_KINDS}, "AiConnectionStrings": found})


async def remove_connection_string(request: Request) -> Response:
    database = database_of(request)
    _check_type(request)
    name = query_required(request, "connectionString")
    etag = await run_in_threadpool(database.ai.remove_connection_string, name)
    return json_response({"RaftCommandIndex": etag})


async def test_ai_connection(request: Request) -> Response:
    """Embed two probe values with unsaved settings; masked secrets fall back to the stored ones.
    The answer names the prompts the connection string will use."""
    database = database_of(request)
    body = await read_json(request)
    connection_string = parse_connection_string(body)
    stored = await run_in_threadpool(database.ai.connection_string, connection_string.name)
    connection_string = keep_unsent(restore_masked(connection_string, stored), stored, body)
    timeout = float(database.database.settings["Ai.Embeddings.TestConnectionTimeoutInSec"])
    prompts = prompts_for(connection_string)
    result = await test_connection(connection_string.settings, timeout=timeout, prompts=prompts)
    return json_response({
        "Success": result.success,
        "Connector": result.connector,
        "Model": result.model,
        "Protocol": result.detected_protocol,
        "Dimensions": result.dimensions,
        "LatencyMs": round(result.latency_ms, 1),
        "Url": result.resolved_url,
        "ErrorKind": result.failure_kind,
        "Error": result.error,
        "ProviderStatus": result.provider_status,
        **prompts.to_json(),
    })
