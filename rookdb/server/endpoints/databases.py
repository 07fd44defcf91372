"""Create, list, read and delete databases, and load the sample data."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.sample_data import SAMPLES, import_sample
from rookdb.errors import BadRequestError, NotFoundError
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
    names = identity_of(request).visible(catalog.names()[start:start + page_size])
    if query_bool(request, "namesOnly"):
        return json_response({"Databases": names})

    def describe() -> list[dict[str, Any]]:
        described = []
        for name in names:
            stats = catalog.get(name).database.statistics()
            described.append({"Name": name, "Disabled": False, "DocumentsCount": stats["CountOfDocuments"],
                              "Collections": stats["Collections"]})
        return described

    return json_response({"Databases": await run_in_threadpool(describe)})


async def create_database(request: Request) -> Response:
    body = await read_json(request, allow_empty=True) or {}
    name = request.query_params.get("name") or (body.get("DatabaseName") if isinstance(body, dict) else None)
    if not name:
        raise BadRequestError("Query string parameter 'name' is required.")
    if isinstance(body, dict) and body.get("DatabaseName") not in (None, name):
        raise BadRequestError(f"The name in the URL ({name}) differs from DatabaseName in the body.")
    database = await run_in_threadpool(catalog_of(request).create, name)
    _, etag = database.database.record()
    return json_response({"RaftCommandIndex": etag, "Name": database.name, "NodesAddedTo": []}, 201)


async def delete_databases(request: Request) -> Response:
    body = await read_json(request, allow_empty=True) or {}
    names = body.get("DatabaseNames") if isinstance(body, dict) else None
    if isinstance(names, str):
        names = [names]
    if not names and request.query_params.get("name"):
        names = request.query_params.getlist("name")
    if not names or not all(isinstance(name, str) for name in names):
        raise BadRequestError("DatabaseNames must list the databases to delete.")
    catalog = catalog_of(request)
    for name in names:
        await run_in_threadpool(catalog.delete, name)
    return json_response({"RaftCommandIndex": 1, "PendingDeletes": []})


async def database_record(request: Request) -> Response:
    name = query_required(request, "name")
    catalog = catalog_of(request)
    if not catalog.exists(name):
        raise NotFoundError(f"Database '{name}' does not exist.")
    database = catalog.get(name)
    record, etag = await run_in_threadpool(database.database.record)
    return json_response({
        "DatabaseName": database.name, "Disabled": False, "Encrypted": False, "Etag": etag,
        "Settings": record.get("Settings", {}),
        "EmbeddingsGenerations": record.get("EmbeddingsGenerations", []),
    })


async def load_sample_data(request: Request) -> Response:
    database = database_of(request)
    sample = request.query_params.get("name", "northwind").lower()
    if sample not in SAMPLES:
        raise BadRequestError(f"Unknown sample '{sample}'; available: {', '.join(sorted(SAMPLES))}.")
    count = await run_in_threadpool(import_sample, database.database, sample)
    return json_response({"Imported": count, "Sample": sample})


async def database_statistics(request: Request) -> Response:
    database = database_of(request)
    return json_response(await run_in_threadpool(database.database.statistics))
