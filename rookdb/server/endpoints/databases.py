"""Create, list, read and delete databases, and load the sample data."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.database_record import NODE_TAG, database_topology
from rookdb.documents.sample_data import SAMPLES
from rookdb.errors import BadRequestError, DatabaseDoesNotExistError
from rookdb.server.access import identity_of
from rookdb.server.requests import (
    catalog_of,
    database_of,
    query_bool,
    query_int,
    query_required,
    read_json,
)
from rookdb.server.responses import json_response

__all__ = [
    "collection_statistics",
    "compact_database",
    "create_database",
    "database_record",
    "database_statistics",
    "delete_databases",
    "detailed_database_statistics",
    "list_databases",
    "load_sample_data",
    "promote_database_node",
    "set_databases_lock",
    "toggle_databases_state",
]


def _names(body: Any, request: Request) -> list[str]:
    """``DatabaseNames`` from a JSON body, or from a form-encoded one (one name arrives as a string);
    the 5.2 client's ``ToggleDatabasesStateOperation`` spells it ``DatabasesNames``."""
    names = None
    if isinstance(body, dict):
        names = body.get("DatabaseNames", body.get("DatabasesNames"))
    if isinstance(names, str):
        names = [names]
    if not names and request.query_params.get("name"):
        names = request.query_params.getlist("name")
    if not names or not all(isinstance(name, str) and name for name in names):
        raise BadRequestError("DatabaseNames must list the databases by name.")
    return list(names)


async def list_databases(request: Request) -> Response:
    catalog = catalog_of(request)
    start = query_int(request, "start", 0)
    page_size = query_int(request, "pageSize", 1024)
    names = identity_of(request).visible(await catalog.names(start, page_size))
    if query_bool(request, "namesOnly"):
        return json_response({"Databases": names})
    return json_response({"Databases": await catalog.describe(names)})


async def create_database(request: Request) -> Response:
    body = await read_json(request, allow_empty=True) or {}
    name = request.query_params.get("name") or (body.get("DatabaseName") if isinstance(body, dict) else None)
    if not name:
        raise BadRequestError("Query string parameter 'name' is required.")
    if isinstance(body, dict) and body.get("DatabaseName") not in (None, name):
        raise BadRequestError(f"The name in the URL ({name}) differs from DatabaseName in the body.")
    created, etag = await catalog_of(request).create(name)
    return json_response({"RaftCommandIndex": etag, "Name": created, "NodesAddedTo": []}, 201)


async def delete_databases(request: Request) -> Response:
    body = await read_json(request, allow_empty=True) or {}
    deleted = await catalog_of(request).delete(_names(body, request))
    # RavenDB answers -1 when every database was kept by its PreventDeletesIgnore lock mode.
    return json_response({"RaftCommandIndex": 1 if deleted else -1, "PendingDeletes": []})


async def database_record(request: Request) -> Response:
    return json_response(await catalog_of(request).record(query_required(request, "name")))


async def set_databases_lock(request: Request) -> Response:
    body = await read_json(request)
    mode = str(body.get("Mode")) if isinstance(body, dict) else ""
    await catalog_of(request).set_lock_mode(_names(body, request), mode)
    return json_response({"RaftCommandIndex": 1})


async def toggle_databases_state(request: Request) -> Response:
    body = await read_json(request)
    disable = request.url.path.rstrip("/").endswith("/disable")
    catalog = catalog_of(request)
    statuses = []
    for name in _names(body, request):
        try:
            changed = await catalog.set_disabled(name, disable)
        except DatabaseDoesNotExistError as error:
            statuses.append({"Name": name, "Success": False, "Disabled": False, "Reason": error.message})
            continue
        state = "disabled" if disable else "enabled"
        statuses.append({"Name": name, "Success": True, "Disabled": disable,
                         "Reason": f"Database state={state}" if changed else f"Database was already {state}"})
    return json_response({"Status": statuses})


async def compact_database(request: Request) -> Response:
    body = await read_json(request)
    name = body.get("DatabaseName") if isinstance(body, dict) else None
    if not isinstance(name, str) or not name:
        raise BadRequestError("DatabaseName is required.")
    operation = await catalog_of(request).compact(name)
    return json_response({"OperationId": operation.id, "OperationNodeTag": "A"})


async def promote_database_node(request: Request) -> Response:
    """``PromoteDatabaseNodeOperation``: node A is this database's only member already, so this changes nothing."""
    name, database_id, etag = await catalog_of(request).database_id(query_required(request, "name"))
    node = query_required(request, "node")
    if node != NODE_TAG:
        raise BadRequestError(f"Node '{node}' is not part of the topology of database '{name}'.")
    return json_response({"RaftCommandIndex": etag, "Name": name, "Topology": database_topology(database_id),
                          "NodesAddedTo": []})


async def reorder_database_members(request: Request) -> Response:
    """``ReorderDatabaseMembersOperation``: the new order must list exactly the database's members; with
    node A its only member, the one valid order changes nothing."""
    name, _, etag = await catalog_of(request).database_id(query_required(request, "name"))
    body = await read_json(request)
    order = body.get("MembersOrder") if isinstance(body, dict) else None
    if not isinstance(order, list) or not all(isinstance(node, str) for node in order):
        raise BadRequestError("'MembersOrder' must be a list of node tags.")
    if sorted(order) != [NODE_TAG]:
        raise BadRequestError(f"The reordered list doesn't correspond to the existing members of the database "
                              f"group of '{name}': {', '.join(order) or 'none'} (members: {NODE_TAG}).")
    return json_response({"RaftCommandIndex": etag})


async def load_sample_data(request: Request) -> Response:
    database = await database_of(request)
    sample = request.query_params.get("name", "northwind").lower()
    if sample not in SAMPLES:
        raise BadRequestError(f"Unknown sample '{sample}'; available: {', '.join(sorted(SAMPLES))}.")
    return json_response({"Imported": await database.import_sample(sample), "Sample": sample})


async def database_statistics(request: Request) -> Response:
    database = await database_of(request)
    return json_response(await database.statistics())


async def detailed_database_statistics(request: Request) -> Response:
    database = await database_of(request)
    return json_response(await database.detailed_statistics())


async def collection_statistics(request: Request) -> Response:
    database = await database_of(request)
    return json_response(await database.collection_statistics())
