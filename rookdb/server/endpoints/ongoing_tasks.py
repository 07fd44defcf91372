"""Embeddings generation tasks as RavenDB ongoing tasks: ``/admin/etl``, ``/task``, ``/tasks``, state, delete."""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from rookdb.ai.task_config import EmbeddingsGenerationConfiguration, render_task_configuration
from rookdb.documents.ai_record import EMBEDDINGS_GENERATION
from rookdb.documents.services import DatabaseServices
from rookdb.errors import BadRequestError, NotFoundError
from rookdb.server.endpoints.topology import node_url
from rookdb.server.requests import database_of, query_bool, query_int, read_json
from rookdb.server.responses import json_response

__all__ = ["delete_task", "get_task", "list_tasks", "put_etl", "toggle_task_state"]

_VALID_STARTING_POINTS = ("LastDocument", "BeginningOfTime", "DoNotChange")


def _check_type(request: Request) -> None:
    kind = request.query_params.get("type")
    if kind is not None and kind != EMBEDDINGS_GENERATION:
        raise BadRequestError(f"Only '{EMBEDDINGS_GENERATION}' ongoing tasks are supported, not '{kind}'.")


def task_info(request: Request, database: DatabaseServices, task: EmbeddingsGenerationConfiguration
              ) -> dict[str, Any]:
    """RavenDB's ``OngoingTaskEmbeddingsGeneration`` shape."""
    status = database.embeddings.status(task)
    return {
        "TaskId": task.task_id,
        "TaskType": EMBEDDINGS_GENERATION,
        "ResponsibleNode": {"NodeTag": "A", "NodeUrl": node_url(request), "ResponsibleNode": "A"},
        "TaskState": "Disabled" if task.disabled else "Enabled",
        "TaskConnectionStatus": status.get("ConnectionStatus", "NotActive" if task.disabled else "Active"),
        "TaskName": task.name,
        "Error": status.get("Error"),
        "MentorNode": task.mentor_node,
        "PinToMentorNode": task.pin_to_mentor_node,
        "ConnectionStringName": task.connection_string_name,
        "Configuration": render_task_configuration(task),
        "ChangeVector": None,
    }


async def put_etl(request: Request) -> Response:
    database = database_of(request)
    body = await read_json(request)
    if isinstance(body, dict) and body.get("EtlType") not in (None, EMBEDDINGS_GENERATION):
        raise BadRequestError(f"Only EmbeddingsGeneration tasks are supported, not '{body.get('EtlType')}'.")
    starting_point = request.query_params.get("changeVector", "LastDocument")
    if starting_point not in _VALID_STARTING_POINTS:
        raise BadRequestError(
            f"changeVector must be one of {', '.join(_VALID_STARTING_POINTS)}, got '{starting_point}'.")
    task_id = request.query_params.get("id")
    if task_id is None:
        written = await run_in_threadpool(database.ai.add_task, body)
    else:
        reset = request.query_params.get("reset") is not None
        written = await run_in_threadpool(database.ai.update_task, query_int(request, "id", 0), body, reset)
        if written.reset:
            await run_in_threadpool(database.embeddings.reset, written.task.task_id)
    return json_response({"RaftCommandIndex": written.raft_index, "TaskId": written.task.task_id,
                          "Identifier": written.task.identifier})


def _find(database: DatabaseServices, key: int, name: str | None) -> EmbeddingsGenerationConfiguration:
    task = database.ai.task(task_id=key or None, name=name)
    if task is None:
        raise NotFoundError(f"Embeddings generation task '{name or key}' does not exist.")
    return task


async def get_task(request: Request) -> Response:
    database = database_of(request)
    _check_type(request)
    task = await run_in_threadpool(
        database.ai.task, query_int(request, "key", 0) or None, request.query_params.get("taskName"))
    if task is None:
        return Response(status_code=404)
    return json_response(task_info(request, database, task))


async def list_tasks(request: Request) -> Response:
    database = database_of(request)
    tasks = await run_in_threadpool(database.ai.tasks)
    return json_response({"OngoingTasks": [task_info(request, database, task) for task in tasks],
                          "SubscriptionsCount": 0, "PullReplications": []})


async def toggle_task_state(request: Request) -> Response:
    database = database_of(request)
    _check_type(request)
    if request.query_params.get("disable") is None:
        raise BadRequestError("Query string parameter 'disable' is required.")
    task = await run_in_threadpool(
        _find, database, query_int(request, "key", 0), request.query_params.get("taskName"))
    etag = await run_in_threadpool(database.ai.set_task_disabled, task, query_bool(request, "disable"))
    return json_response({"TaskId": task.task_id, "RaftCommandIndex": etag, "ResponsibleNode": "A"})


async def delete_task(request: Request) -> Response:
    database = database_of(request)
    _check_type(request)
    task_id = query_int(request, "id", 0)
    etag = await run_in_threadpool(database.ai.delete_task, task_id)
    return json_response({"TaskId": task_id, "RaftCommandIndex": etag})
