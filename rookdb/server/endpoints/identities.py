"""Identities: ``NextIdentityForOperation``, ``SeedIdentityForOperation``, ``GetIdentitiesOperation``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import BadRequestError
from rookdb.server.requests import database_of, query_bool, query_required
from rookdb.server.responses import json_response

__all__ = ["list_identities", "next_identity", "seed_identity"]


async def next_identity(request: Request) -> Response:
    database = await database_of(request)
    return json_response({"NewIdentityValue": await database.next_identity(query_required(request, "name"))})


async def seed_identity(request: Request) -> Response:
    database = await database_of(request)
    raw = query_required(request, "value")
    try:
        value = int(raw)
    except ValueError as error:
        raise BadRequestError(f"Query string parameter 'value' must be an integer, got '{raw}'.") from error
    seeded = await database.seed_identity(query_required(request, "name"), value, query_bool(request, "force"))
    return json_response({"NewSeedValue": seeded})


async def list_identities(request: Request) -> Response:
    database = await database_of(request)
    return json_response(await database.identities())
