"""Create, list, read and delete databases, and load the sample data."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.sample_data import SAMPLES
from rookdb.errors import BadRequestError
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
    "create_database",
    "database_record",
    "database_statistics",
    "delete_databases",
    "list_databases",
    "load_sample_data",
]


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
    names = body.get("DatabaseNames") if isinstance(body, dict) else None
    if isinstance(names, str):
        names = [names]
    if not names and request.query_params.get("name"):
        names = request.query_params.getlist("name")
    if not names or not all(isinstance(name, str) for name in names):
        raise BadRequestError("DatabaseNames must list the databases to delete.")
    await catalog_of(request).delete(names)
    return json_response({"RaftCommandIndex": 1, "PendingDeletes": []})


async def database_record(request: Request) -> Response:
    name, record, etag = await catalog_of(request).record(query_required(request, "name"))
    return json_response({
        "DatabaseName": name, "Disabled": False, "Encrypted": False, "Etag": etag,
        "Settings": record.get("Settings", {}),
        "EmbeddingsGenerations": record.get("EmbeddingsGenerations", []),
        "Indexes": record.get("Indexes", {}),
    })


async def load_sample_data(request: Request) -> Response:
    database = await database_of(request)
    sample = request.query_params.get("name", "northwind").lower()
    if sample not in SAMPLES:
        raise BadRequestError(f"Unknown sample '{sample}'; available: {', '.join(sorted(SAMPLES))}.")
    return json_response({"Imported": await database.import_sample(sample), "Sample": sample})


async def database_statistics(request: Request) -> Response:
    database = await database_of(request)
    return json_response(await database.statistics())
