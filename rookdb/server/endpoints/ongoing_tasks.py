"""Embeddings generation tasks as RavenDB ongoing tasks: ``/admin/etl``, ``/task``, ``/tasks``, state, delete."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.errors import BadRequestError
from rookdb.server.endpoints.topology import node_url
from rookdb.server.requests import database_of, query_bool, query_int, read_json
from rookdb.server.responses import json_response
from rookdb.wire import EMBEDDINGS_GENERATION

__all__ = ["delete_task", "get_task", "list_tasks", "put_etl", "toggle_task_state"]

_VALID_STARTING_POINTS = ("LastDocument", "BeginningOfTime", "DoNotChange")


def _check_type(request: Request) -> None:
    kind = request.query_params.get("type")
    if kind is not None and kind != EMBEDDINGS_GENERATION:
        raise BadRequestError(f"Only '{EMBEDDINGS_GENERATION}' ongoing tasks are supported, not '{kind}'.")


async def put_etl(request: Request) -> Response:
    database = await database_of(request)
    body = await read_json(request)
    if isinstance(body, dict) and body.get("EtlType") not in (None, EMBEDDINGS_GENERATION):
        raise BadRequestError(f"Only {EMBEDDINGS_GENERATION} tasks are supported, not '{body.get('EtlType')}'.")
    starting_point = request.query_params.get("changeVector", "LastDocument")
    if starting_point not in _VALID_STARTING_POINTS:
        raise BadRequestError(
            f"changeVector must be one of {', '.join(_VALID_STARTING_POINTS)}, got '{starting_point}'.")
    task_id = None if request.query_params.get("id") is None else query_int(request, "id", 0)
    written = await database.save_task(body, task_id, reset=request.query_params.get("reset") is not None)
    return json_response({"RaftCommandIndex": written.raft_index, "TaskId": written.task.task_id,
                          "Identifier": written.task.identifier})


async def get_task(request: Request) -> Response:
    database = await database_of(request)
    _check_type(request)
    info = await database.ongoing_task(query_int(request, "key", 0), request.query_params.get("taskName"),
                                       node_url(request))
    if info is None:
        return Response(status_code=404)
    return json_response(info)


async def list_tasks(request: Request) -> Response:
    database = await database_of(request)
    return json_response({"OngoingTasks": await database.ongoing_tasks(node_url(request)),
                          "SubscriptionsCount": 0, "PullReplications": []})


async def toggle_task_state(request: Request) -> Response:
    database = await database_of(request)
    _check_type(request)
    if request.query_params.get("disable") is None:
        raise BadRequestError("Query string parameter 'disable' is required.")
    task_id, etag = await database.set_task_disabled(
        query_int(request, "key", 0), request.query_params.get("taskName"), query_bool(request, "disable"))
    return json_response({"TaskId": task_id, "RaftCommandIndex": etag, "ResponsibleNode": "A"})


async def delete_task(request: Request) -> Response:
    database = await database_of(request)
    _check_type(request)
    task_id = query_int(request, "id", 0)
    return json_response({"TaskId": task_id, "RaftCommandIndex": await database.delete_task(task_id)})
