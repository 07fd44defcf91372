"""The route table: every HTTP endpoint rookdb serves, in one place."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from rookdb.server.endpoints import (
    ai_tasks,
    batch,
    connection_strings,
    databases,
    documents,
    hilo,
    indexes,
    ongoing_tasks,
    queries,
    topology,
)
from rookdb.studio import studio_routes

__all__ = ["routes"]

_DB = "/databases/{database}"


def routes() -> list[BaseRoute]:
    return [
        *studio_routes(),
        Route("/topology", topology.database_topology, methods=["GET"]),
        Route("/cluster/topology", topology.cluster_topology, methods=["GET"]),
        Route("/build/version", topology.build_version, methods=["GET"]),
        Route("/databases", databases.list_databases, methods=["GET"]),
        Route("/admin/databases", databases.create_database, methods=["PUT"]),
        Route("/admin/databases", databases.delete_databases, methods=["DELETE"]),
        Route("/admin/databases", databases.database_record, methods=["GET"]),
        Route(f"{_DB}/docs", documents.get_documents, methods=["GET"]),
        Route(f"{_DB}/docs", documents.post_get_documents, methods=["POST"]),
        Route(f"{_DB}/docs", documents.put_document, methods=["PUT"]),
        Route(f"{_DB}/docs", documents.delete_document, methods=["DELETE"]),
        Route(f"{_DB}/docs", documents.head_document, methods=["HEAD"]),
        Route(f"{_DB}/bulk_docs", batch.bulk_docs, methods=["POST"]),
        Route(f"{_DB}/bulk_insert", batch.bulk_insert, methods=["POST"]),
        Route(f"{_DB}/operations/next-operation-id", batch.next_operation_id, methods=["GET"]),
        Route(f"{_DB}/hilo/next", hilo.hilo_next, methods=["GET"]),
        Route(f"{_DB}/hilo/return", hilo.hilo_return, methods=["PUT"]),
        Route(f"{_DB}/queries", queries.query, methods=["POST", "GET"]),
        Route(f"{_DB}/indexes", indexes.list_indexes, methods=["GET"]),
        Route(f"{_DB}/studio/sample-data", databases.load_sample_data, methods=["POST"]),
        Route(f"{_DB}/stats", databases.database_statistics, methods=["GET"]),
        Route(f"{_DB}/admin/connection-strings", connection_strings.put_connection_string, methods=["PUT"]),
        Route(f"{_DB}/admin/connection-strings", connection_strings.get_connection_strings, methods=["GET"]),
        Route(f"{_DB}/admin/connection-strings", connection_strings.remove_connection_string, methods=["DELETE"]),
        Route(f"{_DB}/admin/ai/test-connection", connection_strings.test_ai_connection, methods=["POST"]),
        Route(f"{_DB}/admin/etl", ongoing_tasks.put_etl, methods=["PUT"]),
        Route(f"{_DB}/task", ongoing_tasks.get_task, methods=["GET"]),
        Route(f"{_DB}/tasks", ongoing_tasks.list_tasks, methods=["GET"]),
        Route(f"{_DB}/admin/tasks/state", ongoing_tasks.toggle_task_state, methods=["POST"]),
        Route(f"{_DB}/admin/tasks", ongoing_tasks.delete_task, methods=["DELETE"]),
        Route(f"{_DB}/ai/tasks/progress", ai_tasks.tasks_progress, methods=["GET"]),
        Route(f"{_DB}/ai/errors", ai_tasks.get_errors, methods=["GET"]),
        Route(f"{_DB}/ai/errors", ai_tasks.clear_errors, methods=["DELETE"]),
        Route(f"{_DB}/attachments", ai_tasks.get_attachment, methods=["GET"]),
    ]
