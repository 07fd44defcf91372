"""``bulk_docs`` (a session's ``save_changes``) and ``bulk_insert`` (``store.bulk_insert()``)."""

from __future__ import annotations

import asyncio
import itertools
import zlib
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, read_json_object
from rookdb.server.responses import json_response, no_content

__all__ = ["bulk_docs", "bulk_insert", "next_operation_id"]

_operation_ids = itertools.count(1)
_BULK_BATCH = 2000
_BULK_QUEUE = 4


async def bulk_docs(request: Request) -> Response:
    database = await database_of(request)
    body = await read_json_object(request)
    commands = body.get("Commands")
    if not isinstance(commands, list):
        raise BadRequestError("The body must be {\"Commands\": [...]}.")
    results = await database.batch(commands)
    return json_response({"Results": results, "TransactionIndex": 0}, 201)


async def next_operation_id(request: Request) -> Response:
    await database_of(request)  # the database must exist
    return json_response({"Id": next(_operation_ids), "NodeTag": "A"})


class _CommandStream:
    """Splits the client's streamed JSON array of commands into parsed batches as bytes arrive.

    The client writes commands as ``{"Id":"...","Type":"PUT","Document":...}`` separated by commas.
    A boundary found inside a string value simply fails to parse and waits for more data.
    """

    _BOUNDARY = b'},{"Id":'

    def __init__(self, compressed: bool) -> None:
        self._buffer = bytearray()
        self._opened = False
        self._inflater = zlib.decompressobj(wbits=31) if compressed else None

    def _inflate(self, chunk: bytes) -> bytes:
        if self._inflater is None:
            return chunk
        try:
            return self._inflater.decompress(chunk)
        except zlib.error as error:
            raise BadRequestError(f"The bulk insert stream is not valid gzip: {error}") from error

    def feed(self, chunk: bytes) -> list[Any]:
        self._buffer += self._inflate(chunk)
        if not self._opened:
            stripped = self._buffer.lstrip()
            if not stripped:
                return []
            if not stripped.startswith(b"["):
                raise BadRequestError("The bulk insert stream must be a JSON array of commands.")
            self._buffer = bytearray(stripped[1:])
            self._opened = True
        cut = self._buffer.rfind(self._BOUNDARY)
        if cut < 0:
            return []
        try:
            commands: list[Any] = orjson.loads(b"[" + self._buffer[: cut + 1] + b"]")
        except orjson.JSONDecodeError:
            return []
        del self._buffer[: cut + 2]
        return commands

    def finish(self) -> list[Any]:
        if self._inflater is not None:
            self._buffer += self._inflater.flush()
        rest = bytes(self._buffer).strip()
        if not self._opened:
            if not rest:
                return []
            raise BadRequestError("The bulk insert stream must be a JSON array of commands.")
        try:
            commands = orjson.loads(b"[" + rest)
        except orjson.JSONDecodeError as error:
            raise BadRequestError(f"The bulk insert stream is not valid JSON: {error}") from error
        if not isinstance(commands, list):
            raise BadRequestError("The bulk insert stream must be a JSON array of commands.")
        return commands


def _documents(commands: list[Any], first_index: int) -> list[tuple[str | None, Any]]:
    documents: list[tuple[str | None, Any]] = []
    for offset, command in enumerate(commands):
        if not isinstance(command, dict) or command.get("Type") != "PUT":
            raise BadRequestError(f"Bulk insert command {first_index + offset} is not a PUT command.")
        documents.append((command.get("Id"), command.get("Document")))
    return documents


async def bulk_insert(request: Request) -> Response:
    database = await database_of(request)
    stream = _CommandStream(request.headers.get("content-encoding", "").lower() == "gzip")
    # Batches are written by one task while the stream keeps being received and parsed; the bounded
    # queue pushes back on the client when storage falls behind.
    batches: asyncio.Queue[list[tuple[str | None, Any]] | None] = asyncio.Queue(maxsize=_BULK_QUEUE)

    async def write_batches() -> None:
        while (batch := await batches.get()) is not None:
            await database.insert_many(batch)

    writer = asyncio.create_task(write_batches())

    async def hand_over(batch: list[tuple[str | None, Any]] | None) -> None:
        put = asyncio.ensure_future(batches.put(batch))
        await asyncio.wait({put, writer}, return_when=asyncio.FIRST_COMPLETED)
        if writer.done() and not put.done():
            put.cancel()
        if writer.done() and writer.exception() is not None:
            raise writer.exception()  # type: ignore[misc]

    received = 0
    pending: list[tuple[str | None, Any]] = []
    try:
        async for chunk in request.stream():
            commands = stream.feed(chunk)
            pending += _documents(commands, received)
            received += len(commands)
            if len(pending) >= _BULK_BATCH:
                await hand_over(pending)
                pending = []
        pending += _documents(stream.finish(), received)
        if pending:
            await hand_over(pending)
        await hand_over(None)
        await writer
    finally:
        if not writer.done():
            writer.cancel()
    # The client parses no body here: anything but an empty answer makes it abort the bulk insert.
    return no_content()
