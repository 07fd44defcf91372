"""Embeddings tasks at work: ``/ai/tasks/progress``, ``/ai/errors`` and the vectors they store (``/attachments``)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import NotFoundError
from rookdb.server.requests import database_of, query_required
from rookdb.server.responses import json_response

__all__ = ["clear_errors", "get_attachment", "get_errors", "tasks_progress"]


async def tasks_progress(request: Request) -> Response:
    database = database_of(request)
    entries = await run_in_threadpool(database.embeddings.progress)
    return json_response({"Results": entries})


async def get_errors(request: Request) -> Response:
    database = database_of(request)
    errors = await run_in_threadpool(database.embeddings.errors, request.query_params.get("name"))
    return json_response({"Errors": errors})


async def clear_errors(request: Request) -> Response:
    database = database_of(request)
    cleared = await run_in_threadpool(database.embeddings.clear_errors, request.query_params.get("name"))
    return json_response({"Deleted": cleared})


async def get_attachment(request: Request) -> Response:
    """An attachment's bytes with RavenDB's headers (``Attachment-Hash``, ``Attachment-Size``, ``ETag``)."""
    database = database_of(request).database
    doc_id, name = query_required(request, "id"), query_required(request, "name")
    found = await run_in_threadpool(database.storage.attachment_content, doc_id, name)
    document = await run_in_threadpool(database.get, doc_id)
    if found is None or document is None:
        raise NotFoundError(f"Attachment '{name}' of document '{doc_id}' does not exist.")
    attachment, content = found
    headers = {"Attachment-Hash": attachment.hash, "Attachment-Size": str(attachment.size),
               "ETag": f'"{document.change_vector}"'}
    return Response(content, media_type=attachment.content_type or "application/octet-stream", headers=headers)
