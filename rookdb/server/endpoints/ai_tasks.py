"""Embeddings tasks at work: ``/ai/tasks/progress``, ``/ai/errors`` and ``/ai/tasks/plan``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.server.requests import database_of, query_int, read_json_object
from rookdb.server.responses import json_response

__all__ = ["clear_errors", "get_errors", "plan_task", "tasks_progress"]


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


async def plan_task(request: Request) -> Response:
    """What saving a task would embed: ``?id=`` with a whole configuration, ``?name=`` with the fields to change."""
    database = await database_of(request)
    body = await read_json_object(request)
    task_id = query_int(request, "id", 0) or None
    return json_response(await database.plan_task(body, task_id, request.query_params.get("name")))
