"""``/databases/{db}/docs``: load, list, store, delete and probe documents."""

from __future__ import annotations

from collections.abc import Sequence

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.loading import LoadResult, load_documents
from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, query_bool, query_int, query_required, read_json
from rookdb.server.responses import RawJsonResponse, json_response, no_content

__all__ = ["delete_document", "get_documents", "head_document", "post_get_documents", "put_document"]


def _render(result: LoadResult, metadata_only: bool) -> Response:
    parts = [b'{"Results":[', b",".join(result.encoded_results(metadata_only)), b'],"Includes":{']
    parts.append(b",".join(result.encoded_includes()))
    parts.append(b"}}")
    return RawJsonResponse(b"".join(parts))


async def _load(request: Request, ids: Sequence[str]) -> Response:
    database = database_of(request).database
    includes = request.query_params.getlist("include")
    result = await run_in_threadpool(load_documents, database, ids, includes)
    if len(ids) == 1 and result.documents[0] is None:
        return Response(status_code=404)
    return _render(result, query_bool(request, "metadataOnly"))


async def get_documents(request: Request) -> Response:
    ids = request.query_params.getlist("id")
    if ids:
        return await _load(request, ids)
    database = database_of(request).database
    start = query_int(request, "start", 0)
    page_size = query_int(request, "pageSize", 25)
    if start < 0 or page_size < 0:
        raise BadRequestError("start and pageSize must not be negative.")
    prefix = request.query_params.get("startsWith")
    if prefix is not None:
        documents = await run_in_threadpool(
            database.storage.list_by_prefix, prefix, start, page_size, request.query_params.get("startAfter"))
    else:
        documents = await run_in_threadpool(
            database.storage.list_recent, request.query_params.get("collection"), start, page_size)
    return _render(LoadResult(list(documents), {}), query_bool(request, "metadataOnly"))


async def post_get_documents(request: Request) -> Response:
    body = await read_json(request)
    ids = body.get("Ids") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(doc_id, str) for doc_id in ids):
        raise BadRequestError("The body must be {\"Ids\": [...]} with string ids.")
    return await _load(request, ids)


async def put_document(request: Request) -> Response:
    database = database_of(request).database
    doc_id = request.query_params.get("id")
    body = await read_json(request)
    change_vector = request.headers.get("If-Match")
    result = await run_in_threadpool(database.put, doc_id, body, change_vector)
    return json_response({"Id": result.document.id, "ChangeVector": result.document.change_vector}, 201)


async def delete_document(request: Request) -> Response:
    database = database_of(request).database
    doc_id = query_required(request, "id")
    await run_in_threadpool(database.delete, doc_id, request.headers.get("If-Match"))
    return no_content()


async def head_document(request: Request) -> Response:
    database = database_of(request).database
    document = await run_in_threadpool(database.get, query_required(request, "id"))
    if document is None:
        return Response(status_code=404)
    if request.headers.get("If-None-Match") == f'"{document.change_vector}"':
        return Response(status_code=304)
    return Response(status_code=200, headers={"ETag": f'"{document.change_vector}"'})
