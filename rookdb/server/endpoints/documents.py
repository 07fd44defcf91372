"""``/databases/{db}/docs`` (load, list, store, delete and probe documents) and ``/attachments``."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.loading import LoadResult
from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, query_bool, query_int, query_required, read_json
from rookdb.server.responses import RawJsonResponse, json_response, no_content

__all__ = [
    "delete_document",
    "get_attachment",
    "get_documents",
    "head_document",
    "post_get_documents",
    "put_document",
]


def _render(result: LoadResult, metadata_only: bool) -> Response:
    parts = [b'{"Results":[', b",".join(result.encoded_results(metadata_only)), b'],"Includes":{']
    parts.append(b",".join(result.encoded_includes()))
    parts.append(b"}}")
    return RawJsonResponse(b"".join(parts))


async def _load(request: Request, ids: Sequence[str]) -> Response:
    database = await database_of(request)
    result = await database.load(ids, request.query_params.getlist("include"))
    if len(ids) == 1 and result.documents[0] is None:
        return Response(status_code=404)
    return _render(result, query_bool(request, "metadataOnly"))


async def get_documents(request: Request) -> Response:
    ids = request.query_params.getlist("id")
    if ids:
        return await _load(request, ids)
    database = await database_of(request)
    start = query_int(request, "start", 0)
    page_size = query_int(request, "pageSize", 25)
    if start < 0 or page_size < 0:
        raise BadRequestError("start and pageSize must not be negative.")
    result = await database.list_documents(
        start=start, page_size=page_size, collection=request.query_params.get("collection"),
        prefix=request.query_params.get("startsWith"), start_after=request.query_params.get("startAfter"))
    return _render(result, query_bool(request, "metadataOnly"))


async def post_get_documents(request: Request) -> Response:
    body = await read_json(request)
    ids = body.get("Ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(doc_id, str) for doc_id in ids):
        raise BadRequestError("The body must be {\"Ids\": [...]} with string ids.")
    return await _load(request, ids)


async def put_document(request: Request) -> Response:
    database = await database_of(request)
    doc_id = request.query_params.get("id")
    body = await read_json(request)
    result = await database.put(doc_id, body, request.headers.get("If-Match"))
    return json_response({"Id": result.document.id, "ChangeVector": result.document.change_vector}, 201)


async def delete_document(request: Request) -> Response:
    database = await database_of(request)
    await database.delete(query_required(request, "id"), request.headers.get("If-Match"))
    return no_content()


async def head_document(request: Request) -> Response:
    database = await database_of(request)
    document = await database.get(query_required(request, "id"))
    if document is None:
        return Response(status_code=404)
    if request.headers.get("If-None-Match") == f'"{document.change_vector}"':
        return Response(status_code=304)
    return Response(status_code=200, headers={"ETag": f'"{document.change_vector}"'})


async def get_attachment(request: Request) -> Response:
    """An attachment's bytes with RavenDB's headers (``Attachment-Hash``, ``Attachment-Size``, ``ETag``)."""
    database = await database_of(request)
    found = await database.attachment(query_required(request, "id"), query_required(request, "name"))
    headers = {"Attachment-Hash": found.attachment.hash, "Attachment-Size": str(found.attachment.size),
               "ETag": f'"{found.change_vector}"'}
    return Response(found.content, media_type=found.attachment.content_type or "application/octet-stream",
                    headers=headers)
