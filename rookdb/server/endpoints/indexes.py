"""``/databases/{db}/indexes``: defining static indexes, listing indexes, their statistics and errors;
delete, reset, enable and disable, stop and start, lock mode and priority.

The shapes are what the official client's index operations send and parse (``PutIndexesOperation``,
``GetIndexesOperation``, ``GetIndexNamesOperation``, ``GetIndexStatisticsOperation``,
``GetIndexErrorsOperation``, ``DeleteIndexOperation``, ``ResetIndexOperation``,
``DisableIndexOperation``/``EnableIndexOperation``, ``IndexHasChangedOperation``,
``StopIndexingOperation``/``StartIndexingOperation``, ``SetIndexesLockOperation``,
``SetIndexesPriorityOperation``, ``GetIndexingStatusOperation``, ``GetTermsOperation``,
``DeleteIndexErrorsOperation``). A missing index is ``IndexDoesNotExistException``: 404, which the
client turns into ``None``, where RavenDB's handler answers so; 400 where it throws (terms, clearing
errors), so that the client raises.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import BadRequestError, IndexNotFoundError
from rookdb.server.requests import database_of, query_bool, query_int, query_required, read_json_object
from rookdb.server.responses import json_response, no_content

__all__ = [
    "DEFAULT_INDEXES_PAGE_SIZE",
    "clear_index_errors",
    "delete_index",
    "disable_index",
    "enable_index",
    "index_errors",
    "index_has_changed",
    "index_statistics",
    "index_terms",
    "indexing_status",
    "list_indexes",
    "put_indexes",
    "put_javascript_indexes",
    "reset_index",
    "set_indexes_lock",
    "set_indexes_priority",
    "start_indexing",
    "stop_indexing",
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


_TERMS_PAGE = 1024
"""Terms per page when the client names no ``pageSize``."""


async def index_terms(request: Request) -> Response:
    """``{"Terms": [...]}``: one field's distinct terms, after ``fromValue`` (``GetTermsOperation``)."""
    database = await database_of(request)
    name, field = query_required(request, "name"), query_required(request, "field")
    page_size = query_int(request, "pageSize", _TERMS_PAGE)
    if page_size < 0:
        raise BadRequestError("Query string parameter 'pageSize' must not be negative.")
    try:
        terms = await database.index_terms(name, field, request.query_params.get("fromValue") or "", page_size)
    except IndexNotFoundError as missing:
        raise missing.thrown() from None
    return json_response({"IndexName": name, "Terms": terms})


async def index_errors(request: Request) -> Response:
    """``{"Results": [IndexErrors...]}`` of each ``?name=`` (every index without one)."""
    database = await database_of(request)
    return json_response({"Results": await database.index_errors(_names(request))})


async def clear_index_errors(request: Request) -> Response:
    database = await database_of(request)
    try:
        await database.clear_index_errors(_names(request))
    except IndexNotFoundError as missing:
        raise missing.thrown() from None
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
    return json_response(await database.indexing_status())


async def _definitions(request: Request) -> list[Any]:
    body = await read_json_object(request)
    indexes = body.get("Indexes")
    if not isinstance(indexes, list):
        raise BadRequestError("Request should have a property 'Indexes' (an array of index definitions)")
    return indexes


async def put_indexes(request: Request) -> Response:
    """``PUT /admin/indexes``: ``{"Indexes": [IndexDefinition...]}`` → 201 ``{"Results": [{Index,
    RaftCommandIndex}]}``."""
    database = await database_of(request)
    indexes = await _definitions(request)
    return json_response({"Results": await database.put_indexes(indexes)}, status_code=201)


async def put_javascript_indexes(request: Request) -> Response:
    """``PUT /indexes``: the same for users without admin rights, JavaScript indexes only (RavenDB's rule:
    C# is compiled code)."""
    database = await database_of(request)
    indexes = await _definitions(request)
    return json_response({"Results": await database.put_indexes(indexes, javascript_only=True)}, status_code=201)


async def index_has_changed(request: Request) -> Response:
    """``POST /indexes/has-changed`` with a definition → ``{"Changed": bool}``."""
    database = await database_of(request)
    body = await read_json_object(request)
    return json_response({"Changed": await database.index_has_changed(body)})


async def enable_index(request: Request) -> Response:
    database = await database_of(request)
    await database.set_index_state(query_required(request, "name"), "Normal")
    return no_content()


async def disable_index(request: Request) -> Response:
    database = await database_of(request)
    await database.set_index_state(query_required(request, "name"), "Disabled")
    return no_content()


async def stop_indexing(request: Request) -> Response:
    """``POST /admin/indexes/stop[?name=]``: pause one index or all of them."""
    database = await database_of(request)
    await database.pause_indexing(request.query_params.get("name") or None)
    return no_content()


async def start_indexing(request: Request) -> Response:
    database = await database_of(request)
    await database.resume_indexing(request.query_params.get("name") or None)
    return no_content()


async def _names_and(request: Request, key: str) -> tuple[list[str], str]:
    body = await read_json_object(request)
    names = body.get("IndexNames")
    value = body.get(key)
    if isinstance(names, str):
        names = [names]
    if not isinstance(names, list) or not names or not all(isinstance(name, str) for name in names):
        raise BadRequestError("'IndexNames' must be a non-empty array of index names")
    if not isinstance(value, str):
        raise BadRequestError(f"'{key}' is required")
    return names, value


async def set_indexes_lock(request: Request) -> Response:
    """``POST /indexes/set-lock`` ``{"IndexNames": [...], "Mode": "LockedIgnore"}``."""
    database = await database_of(request)
    names, mode = await _names_and(request, "Mode")
    await database.set_indexes_lock(names, mode)
    return no_content()


async def set_indexes_priority(request: Request) -> Response:
    """``POST /indexes/set-priority`` ``{"IndexNames": [...], "Priority": "High"}``."""
    database = await database_of(request)
    names, priority = await _names_and(request, "Priority")
    await database.set_indexes_priority(names, priority)
    return no_content()
