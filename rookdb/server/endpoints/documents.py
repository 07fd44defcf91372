"""``/databases/{db}/docs`` (load, list, store, delete and probe documents) and ``/attachments``
(read, probe, store and delete one attachment)."""

from __future__ import annotations

from collections.abc import Sequence

import orjson
from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.loading import LoadResult
from rookdb.errors import BadRequestError, NotFoundError
from rookdb.server.multipart import boundary_of, parse_multipart
from rookdb.server.requests import database_of, if_match, query_bool, query_int, query_required, read_json
from rookdb.server.responses import RawJsonResponse, json_response, no_content

__all__ = [
    "delete_attachment",
    "delete_document",
    "encoded_load",
    "get_attachment",
    "get_documents",
    "head_attachment",
    "head_document",
    "post_get_documents",
    "put_attachment",
    "put_document",
]


def encoded_load(result: LoadResult, metadata_only: bool) -> bytes:
    """The body answering a load: ``Results``, ``Includes`` and any ``CompareExchangeValueIncludes``."""
    parts = [b'{"Results":[', b",".join(result.encoded_results(metadata_only)), b'],"Includes":{']
    parts.append(b",".join(result.encoded_includes()))
    parts.append(b"}")
    values = result.compare_exchange_includes()
    if values is not None:
        parts.append(b',"CompareExchangeValueIncludes":' + orjson.dumps(values))
    parts.append(b"}")
    return b"".join(parts)


def _render(request: Request, result: LoadResult, metadata_only: bool) -> Response:
    """The documents, or 304 when the client's cached copy (``If-None-Match``) is still current."""
    etag = f'"{result.etag()}"'
    if request.headers.get("If-None-Match") == etag:
        return Response(status_code=304, headers={"ETag": etag})
    return RawJsonResponse(encoded_load(result, metadata_only), headers={"ETag": etag})


async def _load(request: Request, ids: Sequence[str]) -> Response:
    database = await database_of(request)
    result = await database.load(ids, request.query_params.getlist("include"),
                                 request.query_params.getlist("cmpxchg"))
    if len(ids) == 1 and result.documents[0] is None:
        return Response(status_code=404)
    return _render(request, result, query_bool(request, "metadataOnly"))


async def get_documents(request: Request) -> Response:
    ids = request.query_params.getlist("id")
    if ids:
        return await _load(request, ids)
    database = await database_of(request)
    start = query_int(request, "start", 0)
    page_size = query_int(request, "pageSize", 25)
    if start < 0 or page_size < 0:
        raise BadRequestError("start and pageSize must not be negative.")
    parameters = request.query_params
    result = await database.list_documents(
        start=start, page_size=page_size, collection=parameters.get("collection"),
        prefix=parameters.get("startsWith"), start_after=parameters.get("startAfter"),
        matches=parameters.get("matches"), exclude=parameters.get("exclude"))
    return _render(request, result, query_bool(request, "metadataOnly"))


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
    result = await database.put(doc_id, body, if_match(request))
    return json_response({"Id": result.document.id, "ChangeVector": result.document.change_vector}, 201)


async def delete_document(request: Request) -> Response:
    database = await database_of(request)
    await database.delete(query_required(request, "id"), if_match(request))
    return no_content()


async def head_document(request: Request) -> Response:
    database = await database_of(request)
    document = await database.get(query_required(request, "id"))
    if document is None:
        return Response(status_code=404)
    # Quoted as an ETag or bare as the official client sends it; RavenDB takes both.
    if request.headers.get("If-None-Match", "").strip('"') == document.change_vector:
        return Response(status_code=304)
    return Response(status_code=200, headers={"ETag": f'"{document.change_vector}"'})


async def _attachment_headers(request: Request) -> tuple[dict[str, str], bytes, str]:
    database = await database_of(request)
    found = await database.attachment(query_required(request, "id"), query_required(request, "name"))
    headers = {"Attachment-Hash": found.attachment.hash, "Attachment-Size": str(found.attachment.size),
               "ETag": f'"{found.change_vector}"'}
    return headers, found.content, found.attachment.content_type


async def get_attachment(request: Request) -> Response:
    """An attachment's bytes with RavenDB's headers (``Attachment-Hash``, ``Attachment-Size``, ``ETag``)."""
    headers, content, content_type = await _attachment_headers(request)
    # The stored content type as it is: starlette would add a charset to text/* media types.
    return Response(content, headers={**headers, "Content-Type": content_type or "application/octet-stream"})


async def head_attachment(request: Request) -> Response:
    try:
        headers, _, _ = await _attachment_headers(request)
    except NotFoundError:
        return Response(status_code=404)
    if request.headers.get("If-None-Match") == headers["ETag"]:
        return Response(status_code=304)
    return Response(status_code=200, headers=headers)


async def put_attachment(request: Request) -> Response:
    database = await database_of(request)
    body = await request.body()
    content_type = request.query_params.get("contentType")
    boundary = boundary_of(request.headers.get("content-type"))
    if boundary is not None:
        parts = parse_multipart(body, boundary)
        if len(parts) != 1:
            raise BadRequestError(f"An attachment upload must carry one part, not {len(parts)}.")
        body = parts[0].content
        content_type = content_type or parts[0].content_type
    change = await database.put_attachment(query_required(request, "id"), query_required(request, "name"),
                                           content_type, body, if_match(request))
    return json_response(change.details(), 201)


async def delete_attachment(request: Request) -> Response:
    database = await database_of(request)
    await database.delete_attachment(query_required(request, "id"), query_required(request, "name"),
                                     if_match(request))
    return no_content()
