"""``bulk_docs`` (a session's ``save_changes``) and ``bulk_insert`` (``store.bulk_insert()``)."""

from __future__ import annotations

import gzip
import itertools
from typing import Any

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, read_json_object
from rookdb.server.responses import json_response, no_content

__all__ = ["bulk_docs", "bulk_insert", "next_operation_id"]

_operation_ids = itertools.count(1)


async def bulk_docs(request: Request) -> Response:
    database = database_of(request)
    body = await read_json_object(request)
    commands = body.get("Commands")
    if not isinstance(commands, list):
        raise BadRequestError("The body must be {\"Commands\": [...]}.")
    results = await run_in_threadpool(database.batch, commands)
    return json_response({"Results": results, "TransactionIndex": 0}, 201)


async def next_operation_id(request: Request) -> Response:
    database_of(request)
    return json_response({"Id": next(_operation_ids), "NodeTag": "A"})


def _bulk_commands(raw: bytes) -> list[tuple[str | None, Any]]:
    try:
        commands = orjson.loads(raw) if raw.strip() else []
    except orjson.JSONDecodeError as error:
        raise BadRequestError(f"The bulk insert stream is not valid JSON: {error}") from error
    if not isinstance(commands, list):
        raise BadRequestError("The bulk insert stream must be a JSON array of commands.")
    documents: list[tuple[str | None, Any]] = []
    for index, command in enumerate(commands):
        if not isinstance(command, dict) or command.get("Type") != "PUT":
            raise BadRequestError(f"Bulk insert command {index} is not a PUT command.")
        documents.append((command.get("Id"), command.get("Document")))
    return documents


def _gunzip(raw: bytes) -> bytes:
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as error:
        raise BadRequestError(f"The bulk insert stream is not valid gzip: {error}") from error


async def bulk_insert(request: Request) -> Response:
    database = database_of(request)
    # The client streams one JSON array; buffering it keeps parsing in one fast orjson call.
    raw = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        raw = _gunzip(raw)
    documents = _bulk_commands(raw)
    await run_in_threadpool(database.insert_many, documents)
    # The client parses no body here: anything but an empty answer makes it abort the bulk insert.
    return no_content()
