"""``/databases/{db}/indexes``: the indexes, their statistics and errors; delete and reset.

The shapes are what the official client's index operations parse (``GetIndexesOperation``,
``GetIndexNamesOperation``, ``GetIndexStatisticsOperation``, ``GetIndexErrorsOperation``,
``DeleteIndexOperation``, ``ResetIndexOperation``, ``GetIndexingStatusOperation``). A missing index is
``IndexDoesNotExistException`` (404), which the client turns into ``None`` where RavenDB's does.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import IndexNotFoundError
from rookdb.server.requests import database_of, query_bool, query_int, query_required
from rookdb.server.responses import json_response, no_content

__all__ = [
    "DEFAULT_INDEXES_PAGE_SIZE",
    "clear_index_errors",
    "delete_index",
    "index_errors",
    "index_statistics",
    "indexing_status",
    "list_indexes",
    "reset_index",
]

DEFAULT_INDEXES_PAGE_SIZE = 1024


async def list_indexes(request: Request) -> Response:
    """``{"Results": [IndexDefinition...]}``, or names with ``namesOnly``; ``?name=`` selects one."""
    database = database_of(request)
    name = request.query_params.get("name")

    def listing() -> list[dict[str, object]]:
        return database.indexes.listing(database.vectors.describe())

    listed = await run_in_threadpool(listing)
    if name is not None:
        listed = [index for index in listed if str(index["Name"]).lower() == name.lower()]
        if not listed:
            raise IndexNotFoundError(f"Index '{name}' does not exist.")
    start = query_int(request, "start", 0)
    page = listed[start : start + query_int(request, "pageSize", DEFAULT_INDEXES_PAGE_SIZE)]
    if query_bool(request, "namesOnly"):
        return json_response({"Results": [index["Name"] for index in page]})
    return json_response({"Results": page})


async def index_statistics(request: Request) -> Response:
    """``{"Results": [IndexStats...]}`` of ``?name=`` or of every index."""
    database = database_of(request)
    listed = await run_in_threadpool(database.indexes.statistics, request.query_params.get("name"))
    return json_response({"Results": listed})


async def index_errors(request: Request) -> Response:
    """``{"Results": [IndexErrors...]}`` of each ``?name=`` (every index without one)."""
    database = database_of(request)
    names = [name for name in request.query_params.getlist("name") if name]

    def errors() -> list[dict[str, object]]:
        return database.indexes.errors(names, database.vectors.describe())

    return json_response({"Results": await run_in_threadpool(errors)})


async def clear_index_errors(request: Request) -> Response:
    database = database_of(request)
    names = [name for name in request.query_params.getlist("name") if name]
    await run_in_threadpool(database.indexes.clear_errors, names)
    return no_content()


async def delete_index(request: Request) -> Response:
    database = database_of(request)
    await run_in_threadpool(database.indexes.delete, query_required(request, "name"))
    return no_content()


async def reset_index(request: Request) -> Response:
    """``RESET /indexes?name=``: the index starts over from the beginning of the change feed."""
    database = database_of(request)
    await run_in_threadpool(database.indexes.reset, query_required(request, "name"))
    return no_content()


async def indexing_status(request: Request) -> Response:
    database = database_of(request)
    names = await run_in_threadpool(lambda: [index.name for index in database.indexes.registry.indexes()])
    return json_response({"Status": "Running", "Indexes": [{"Name": name, "Status": "Running"} for name in names]})
