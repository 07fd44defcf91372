"""Long-running operations: their ids, their state and killing them, per database and server-wide."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.server.requests import catalog_of, database_of, query_int
from rookdb.server.responses import json_response, no_content

__all__ = ["kill_operation", "next_operation_id", "operation_state"]


async def _database_name(request: Request) -> str | None:
    """The database of a ``/databases/{db}/operations/...`` route (checked to exist), None server-wide."""
    if "database" not in request.path_params:
        return None
    return (await database_of(request)).name


async def next_operation_id(request: Request) -> Response:
    await _database_name(request)
    return json_response({"Id": catalog_of(request).next_operation_id(), "NodeTag": "A"})


async def operation_state(request: Request) -> Response:
    operation = catalog_of(request).operation(query_int(request, "id", -1), await _database_name(request))
    if operation is None:
        return Response(status_code=404)
    return json_response(await run_in_threadpool(operation.settled_state))


async def kill_operation(request: Request) -> Response:
    catalog_of(request).kill_operation(query_int(request, "id", -1), await _database_name(request))
    return no_content()
