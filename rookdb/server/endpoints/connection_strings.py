"""``/admin/connection-strings`` (AI connection strings) and ``/admin/ai/test-connection``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import BadRequestError
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
    database = await database_of(request)
    body = await read_json(request)
    if isinstance(body, dict) and body.get("Type") not in (None, _AI):
        raise BadRequestError(f"Only AI connection strings are supported (Type 'Ai'), not '{body.get('Type')}'.")
    return json_response({"RaftCommandIndex": await database.put_connection_string(body)})


async def get_connection_strings(request: Request) -> Response:
    """Every connection string, or the one named (a name that does not exist answers empty collections)."""
    database = await database_of(request)
    _check_type(request)
    name = request.query_params.get("connectionStringName")
    if name is not None:
        # RavenDB's checks when a name is given: it must not be blank and the type must be named.
        if not name.strip():
            raise BadRequestError("'connectionStringName' must have a non empty value")
        if not request.query_params.get("type"):
            raise BadRequestError("Unknown connection string type: ")
    found = await database.connection_strings(name)
    return json_response({**{kind: {} for kind in _OTHER_KINDS}, "AiConnectionStrings": found})


async def remove_connection_string(request: Request) -> Response:
    database = await database_of(request)
    _check_type(request)
    etag = await database.remove_connection_string(query_required(request, "connectionString"))
    return json_response({"RaftCommandIndex": etag})


async def test_ai_connection(request: Request) -> Response:
    """Embed two probe values with unsaved settings; masked secrets fall back to the stored ones.
    The answer names the prompts the connection string will use."""
    database = await database_of(request)
    result, prompts = await database.test_connection(await read_json(request))
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
        **prompts,
    })
