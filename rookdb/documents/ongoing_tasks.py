"""Embeddings generation tasks as RavenDB's ongoing tasks: saving one (with its reset), switching it
on or off, the ``OngoingTaskEmbeddingsGeneration`` description the clients read, and the estimate of
what saving a change would embed."""

from __future__ import annotations

from typing import Any

from rookdb.ai.embeddings.estimate import estimate_embeddings
from rookdb.ai.task_config import EmbeddingsGenerationConfiguration, render_task_configuration
from rookdb.documents.ai_record import TaskWrite
from rookdb.documents.services import DatabaseServices
from rookdb.errors import NotFoundError
from rookdb.wire import EMBEDDINGS_GENERATION

__all__ = ["describe_task", "find_task", "plan_task", "save_task", "set_task_disabled"]

_PER_MILLION = 1_000_000


def save_task(services: DatabaseServices, data: Any, task_id: int | None, reset: bool) -> TaskWrite:
    """Add a task (``task_id`` None) or replace one; a reset regenerates every document of it."""
    if task_id is None:
        return services.ai.add_task(data)
    written = services.ai.update_task(task_id, data, reset)
    if written.reset:
        services.embeddings.reset(written.task.task_id)
    return written


def find_task(services: DatabaseServices, task_id: int | None, name: str | None
              ) -> EmbeddingsGenerationConfiguration | None:
    """The task with ``task_id`` (when given and not 0) or else named ``name``."""
    return services.ai.task(task_id=task_id or None, name=name)


def set_task_disabled(services: DatabaseServices, task_id: int | None, name: str | None, disabled: bool
                      ) -> tuple[EmbeddingsGenerationConfiguration, int]:
    """Disable or enable a task; (the task, the new record etag)."""
    task = find_task(services, task_id, name)
    if task is None:
        raise NotFoundError(f"Embeddings generation task '{name or task_id}' does not exist.")
    return task, services.ai.set_task_disabled(task, disabled)


def describe_task(services: DatabaseServices, task: EmbeddingsGenerationConfiguration, node_url: str
                  ) -> dict[str, Any]:
    """RavenDB's ``OngoingTaskEmbeddingsGeneration`` shape; ``node_url`` is where the client reached us.

    The responsible node is the one holding the task's lease (none while no node does); every node
    embeds the task's batches, and one without a worker for it says ``NotOnThisNode``, as RavenDB does."""
    status = services.embeddings.status(task)
    responsible: dict[str, Any] = {"NodeTag": "A", "NodeUrl": node_url, "ResponsibleNode": "A"}
    leases = services.embeddings.leases
    if leases is not None and not task.disabled:
        holder = leases.holder(task.task_id)
        responsible = {"NodeTag": holder.tag if holder else None, "NodeUrl": holder.url if holder else None,
                       "ResponsibleNode": holder.tag if holder else None}
        if services.embeddings.worker(task.task_id) is None and holder is not None:
            status = {"ConnectionStatus": "NotOnThisNode", "Error": None}
    return {
        "TaskId": task.task_id,
        "TaskType": EMBEDDINGS_GENERATION,
        "ResponsibleNode": responsible,
        "TaskState": "Disabled" if task.disabled else "Enabled",
        "TaskConnectionStatus": status["ConnectionStatus"],
        "TaskName": task.name,
        "Error": status["Error"],
        "MentorNode": task.mentor_node,
        "PinToMentorNode": task.pin_to_mentor_node,
        "ConnectionStringName": task.connection_string_name,
        "Configuration": render_task_configuration(task),
        "ChangeVector": None,
    }


def plan_task(services: DatabaseServices, data: dict[str, Any], task_id: int | None, name: str | None
              ) -> dict[str, Any]:
    """What saving a task would embed, before it is saved: ``data`` is a whole configuration (a new task,
    or the task ``task_id`` replaced), or with ``name`` the fields to change in that task (such as
    ``ConnectionStringName`` for a migration). Nothing is saved; bad input raises as saving would."""
    stored = None
    if task_id or name is not None:
        stored = find_task(services, task_id, name)
        if stored is None:
            raise NotFoundError(f"Embeddings generation task '{name or task_id}' does not exist.")
        if name is not None:
            data = {**render_task_configuration(stored), **data}
    task, connection_string = services.ai.preview_task(data, stored.task_id if stored is not None else None)
    database = services.database
    estimate = estimate_embeddings(database.storage, task, connection_string, database.settings)
    price = connection_string.price_per_million_tokens
    current = None
    if stored is not None:
        serving = services.ai.generations(stored.task_id).serving_generation()
        current = serving.connection_string_name or stored.connection_string_name
    return {"TaskName": task.name, "Collection": task.collection, "ConnectionStringName": task.connection_string_name,
            "CurrentConnectionStringName": current,
            "Migration": current is not None and current != task.connection_string_name, **estimate.to_json(),
            "Cost": None if price is None else round(estimate.tokens_to_embed * price / _PER_MILLION, 6)}
