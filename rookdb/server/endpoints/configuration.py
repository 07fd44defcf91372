"""Client configuration, per database and server-wide (``Get/PutClientConfigurationOperation``,
``Get/PutServerWideClientConfigurationOperation``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.server.requests import catalog_of, database_of, read_json
from rookdb.server.responses import json_response

__all__ = [
    "get_client_configuration",
    "get_server_client_configuration",
    "put_client_configuration",
    "put_server_client_configuration",
]


async def get_client_configuration(request: Request) -> Response:
    database = await database_of(request)
    configuration, etag = await database.client_configuration()
    return json_response({"Etag": etag, "Configuration": configuration})


async def put_client_configuration(request: Request) -> Response:
    database = await database_of(request)
    etag = await database.put_client_configuration(await read_json(request))
    return json_response({"RaftCommandIndex": etag})


async def get_server_client_configuration(request: Request) -> Response:
    configuration, _ = catalog_of(request).server_client_configuration()
    return json_response(configuration)


async def put_server_client_configuration(request: Request) -> Response:
    etag = await catalog_of(request).put_server_client_configuration(await read_json(request))
    return json_response({"RaftCommandIndex": etag})
