"""``bulk_docs`` (a session's ``save_changes``) and ``bulk_insert`` (``store.bulk_insert()``)."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.async_database import AsyncDatabase
from rookdb.documents.batch import AttachmentStream
from rookdb.documents.database import BULK_INSERT_BATCH_SIZE
from rookdb.documents.operations import Operation
from rookdb.errors import BadRequestError, RookError
from rookdb.server.multipart import boundary_of, parse_multipart
from rookdb.server.requests import catalog_of, database_of, query_int, read_json_object
from rookdb.server.responses import json_response, no_content

__all__ = ["bulk_docs", "bulk_insert"]

_BULK_QUEUE = 4
# How often a bulk insert waiting for the client's next bytes looks whether it was killed.
_KILL_POLL_S = 0.1
_ATTACHMENT_STREAM = "AttachmentStream"
_HEARTBEAT = "HeartBeat"


async def _batch_body(request: Request) -> tuple[Any, list[AttachmentStream]]:
    """The commands, and the attachment contents when the client sent a multipart body (its first part,
    ``main``, holds the commands; each other part is the content of one ``AttachmentPUT``)."""
    boundary = boundary_of(request.headers.get("content-type"))
    if boundary is None:
        return await read_json_object(request), []
    parts = parse_multipart(await request.body(), boundary)
    if not parts or parts[0].name != "main":
        raise BadRequestError("A multipart batch must start with the part 'main' holding the commands.")
    try:
        body = orjson.loads(parts[0].content)
    except orjson.JSONDecodeError as error:
        raise BadRequestError(f"The 'main' part of the batch is not valid JSON: {error}") from error
    streams = []
    for part in parts[1:]:
        if part.headers.get("command-type", _ATTACHMENT_STREAM) != _ATTACHMENT_STREAM:
            raise BadRequestError(f"The batch part '{part.name}' is not an attachment stream.")
        streams.append(AttachmentStream(part.content, part.content_type))
    return body, streams


async def bulk_docs(request: Request) -> Response:
    database = await database_of(request)
    body, streams = await _batch_body(request)
    result = await database.batch(body, streams)
    return json_response(result.to_json(), 201)


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

    closed = False
    """The array's closing bracket arrived: the Node.js client writes it and then keeps the request body
    open until the answer comes, as RavenDB answers at the end of the array, not of the body."""

    def feed(self, chunk: bytes) -> list[Any]:
        if self.closed:
            return []
        self._buffer += self._inflate(chunk)
        if not self._opened:
            stripped = self._buffer.lstrip()
            if not stripped:
                return []
            if not stripped.startswith(b"["):
                raise BadRequestError("The bulk insert stream must be a JSON array of commands.")
            self._buffer = bytearray(stripped[1:])
            self._opened = True
        if self._buffer.rstrip().endswith(b"]"):
            try:
                rest = orjson.loads(b"[" + self._buffer)
            except orjson.JSONDecodeError:
                pass  # a bracket inside a document still arriving
            else:
                self._buffer.clear()
                self.closed = True
                return rest if isinstance(rest, list) else []
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
        if self.closed:
            return []
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
        if isinstance(command, dict) and command.get("Type") == _HEARTBEAT:
            continue  # the clients keep a slow stream alive with these
        if not isinstance(command, dict) or command.get("Type") != "PUT":
            raise BadRequestError(f"Bulk insert command {first_index + offset} is not a PUT command.")
        documents.append((command.get("Id"), command.get("Document")))
    return documents


async def _chunks(request: Request, operation: Operation) -> AsyncIterator[bytes]:
    """The request's body as it arrives, ended by a kill of the operation (``bulk_insert.abort()``)."""
    stream = request.stream().__aiter__()
    while True:
        receive = asyncio.ensure_future(stream.__anext__())
        while not receive.done():
            await asyncio.wait({receive}, timeout=_KILL_POLL_S)
            if operation.cancel.is_set():
                receive.cancel()
                raise RookError(f"Bulk insert operation {operation.id} was killed.")
        try:
            yield receive.result()
        except StopAsyncIteration:
            return


async def bulk_insert(request: Request) -> Response:
    database = await database_of(request)
    catalog = catalog_of(request)
    operation = catalog.register_operation(database.name, "BulkInsert",
                                           query_int(request, "id", -1) if request.query_params.get("id") else None)
    try:
        total = await _insert(request, database, operation)
    except BaseException:
        catalog.complete_operation(operation, status="Canceled" if operation.cancel.is_set() else "Faulted")
        raise
    catalog.complete_operation(operation, result={"Total": total, "DocumentsProcessed": total})
    # The client parses no body here: anything but an empty answer makes it abort the bulk insert.
    return no_content()


async def _insert(request: Request, database: AsyncDatabase, operation: Operation) -> int:
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
        async for chunk in _chunks(request, operation):
            commands = stream.feed(chunk)
            pending += _documents(commands, received)
            received += len(commands)
            operation.report({"Total": received, "DocumentsProcessed": received})
            if len(pending) >= BULK_INSERT_BATCH_SIZE:
                await hand_over(pending)
                pending = []
            if stream.closed:
                break
        tail = stream.finish()
        pending += _documents(tail, received)
        received += len(tail)
        if pending:
            await hand_over(pending)
        await hand_over(None)
        await writer
    finally:
        if not writer.done():
            writer.cancel()
    return received
