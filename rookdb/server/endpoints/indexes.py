"""``/databases/{db}/indexes``: the indexes, their statistics and errors; delete and reset.

The shapes are what the official client's index operations parse (``GetIndexesOperation``,
``GetIndexNamesOperation``, ``GetIndexStatisticsOperation``, ``GetIndexErrorsOperation``,
``DeleteIndexOperation``, ``ResetIndexOperation``, ``GetIndexingStatusOperation``). A missing index is
``IndexDoesNotExistException`` (404), which the client turns into ``None`` where RavenDB's does.
"""

from __future__ import annotations

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


def _names(request: Request) -> list[str]:
    return [name for name in request.query_params.getlist("name") if name]


async def list_indexes(request: Request) -> Response:
    """``{"Results": [IndexDefinition...]}``, or names with ``namesOnly``; ``?name=`` selects one."""
    database = await database_of(request)
    name = request.query_params.get("name")
    listed = await database.indexes()
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
    database = await database_of(request)
    return json_response({"Results": await database.index_statistics(request.query_params.get("name"))})


async def index_errors(request: Request) -> Response:
    """``{"Results": [IndexErrors...]}`` of each ``?name=`` (every index without one)."""
    database = await database_of(request)
    return json_response({"Results": await database.index_errors(_names(request))})


async def clear_index_errors(request: Request) -> Response:
    database = await database_of(request)
    await database.clear_index_errors(_names(request))
    return no_content()


async def delete_index(request: Request) -> Response:
    database = await database_of(request)
    await database.delete_index(query_required(request, "name"))
    return no_content()


async def reset_index(request: Request) -> Response:
    """``RESET /indexes?name=``: the index starts over from the beginning of the change feed."""
    database = await database_of(request)
    await database.reset_index(query_required(request, "name"))
    return no_content()


async def indexing_status(request: Request) -> Response:
    database = await database_of(request)
    names = await database.index_names()
    return json_response({"Status": "Running", "Indexes": [{"Name": name, "Status": "Running"} for name in names]})
