"""``/databases/{db}/indexes``: the auto-indexes vector queries created, with their state."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.server.requests import database_of, query_int
from rookdb.server.responses import json_response

__all__ = ["DEFAULT_INDEXES_PAGE_SIZE", "list_indexes"]

DEFAULT_INDEXES_PAGE_SIZE = 1024


async def list_indexes(request: Request) -> Response:
    """``{"Results": [index...]}``; ``?name=`` selects one (the client's ``GetIndexOperation``)."""
    database = database_of(request)
    listed = await run_in_threadpool(database.vectors.describe)
    name = request.query_params.get("name")
    if name is not None:
        listed = [index for index in listed if index["Name"].lower() == name.lower()]
    start = query_int(request, "start", 0)
    page_size = query_int(request, "pageSize", DEFAULT_INDEXES_PAGE_SIZE)
    return json_response({"Results": listed[start : start + page_size]})
