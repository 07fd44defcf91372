"""HiLo id ranges: ``/hilo/next`` and ``/hilo/return``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.server.requests import database_of, query_int, query_required
from rookdb.server.responses import json_response, no_content

__all__ = ["hilo_next", "hilo_return"]


async def hilo_next(request: Request) -> Response:
    database = await database_of(request)
    hilo_range = await database.hilo_next(
        query_required(request, "tag"),
        query_int(request, "lastBatchSize", 0),
        request.query_params.get("lastRangeAt"),
        query_int(request, "lastMax", 0),
        request.query_params.get("identityPartsSeparator") or "/",
    )
    return json_response(hilo_range.to_json())


async def hilo_return(request: Request) -> Response:
    database = await database_of(request)
    await database.hilo_return(query_required(request, "tag"), query_int(request, "end", 0),
                               query_int(request, "last", 0))
    return no_content()
