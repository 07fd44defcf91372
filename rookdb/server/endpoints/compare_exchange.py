"""``/databases/{db}/cmpxchg``: compare-exchange values by key or prefix, put and delete by index."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.compare_exchange import render_value
from rookdb.server.requests import database_of, query_int, query_required, read_json
from rookdb.server.responses import json_response

__all__ = ["delete_value", "get_values", "put_value"]


async def get_values(request: Request) -> Response:
    """By ``key`` (one or more; one missing key is a 404, several give ``Index: -1`` entries) or by
    ``startsWith`` with ``start``/``pageSize``."""
    database = await database_of(request)
    keys = request.query_params.getlist("key")
    if keys:
        found = await database.compare_exchange_values(keys)
        if len(keys) == 1 and found[0] is None:
            return Response(status_code=404)
        results = [render_value(value) if value is not None else {"Key": key, "Index": -1, "Value": None}
                   for key, value in zip(keys, found, strict=True)]
        return json_response({"Results": results})
    values = await database.compare_exchange_by_prefix(request.query_params.get("startsWith") or "",
                                                       query_int(request, "start", 0),
                                                       query_int(request, "pageSize", 1024))
    return json_response({"Results": [render_value(value) for value in values]})


async def put_value(request: Request) -> Response:
    database = await database_of(request)
    body = await read_json(request)
    outcome = await database.put_compare_exchange(query_required(request, "key"), body, query_int(request, "index", 0))
    return json_response(outcome.to_json())


async def delete_value(request: Request) -> Response:
    database = await database_of(request)
    outcome = await database.delete_compare_exchange(query_required(request, "key"), query_int(request, "index", 0))
    return json_response(outcome.to_json())
