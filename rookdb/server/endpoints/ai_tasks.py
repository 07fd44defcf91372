"""Embeddings tasks at work: ``/ai/tasks/progress`` and ``/ai/errors``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.server.requests import database_of
from rookdb.server.responses import json_response

__all__ = ["clear_errors", "get_errors", "tasks_progress"]


async def tasks_progress(request: Request) -> Response:
    database = await database_of(request)
    return json_response({"Results": await database.tasks_progress(),
                          "ConnectionStrings": await database.connection_string_usage()})


async def get_errors(request: Request) -> Response:
    database = await database_of(request)
    return json_response({"Errors": await database.task_errors(request.query_params.get("name"))})


async def clear_errors(request: Request) -> Response:
    database = await database_of(request)
    return json_response({"Deleted": await database.clear_task_errors(request.query_params.get("name"))})
