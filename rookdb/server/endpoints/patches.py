"""Patching one document: ``PatchOperation`` (``PATCH /docs``) and ``JsonPatchOperation``
(``PATCH /json-patch``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.patching.patcher import DOES_NOT_EXIST
from rookdb.documents.patching.request import parse_patch_request
from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, if_match, query_bool, query_required, read_json_object
from rookdb.server.responses import json_response

__all__ = ["json_patch_document", "patch_document"]


async def patch_document(request: Request) -> Response:
    database = await database_of(request)
    body = await read_json_object(request)
    patch = parse_patch_request(body.get("Patch"), "Patch")
    assert patch is not None
    result = await database.patch(
        query_required(request, "id"), patch,
        patch_if_missing=parse_patch_request(body.get("PatchIfMissing"), "PatchIfMissing", required=False),
        expected_change_vector=if_match(request),
        skip_on_mismatch=query_bool(request, "skipPatchIfChangeVectorMismatch"), test=query_bool(request, "test"))
    if result.status == DOES_NOT_EXIST:
        return Response(status_code=404)
    return json_response(result.to_json(debug=query_bool(request, "debug")))


async def json_patch_document(request: Request) -> Response:
    database = await database_of(request)
    body = await read_json_object(request)
    operations = body.get("Operations")
    if not isinstance(operations, list):
        raise BadRequestError("The body must be {\"Operations\": [...]}.")
    result = await database.json_patch(query_required(request, "id"), operations)
    if result.status == DOES_NOT_EXIST:
        return Response(status_code=404)
    return json_response({"Status": result.status, "ModifiedDocument": result.modified_document(),
                          "OriginalDocument": None, "Debug": None})
