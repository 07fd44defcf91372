"""The route table: every HTTP endpoint rookdb serves, with the authorization RavenDB declares for it."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from rookdb.security import DATABASE_ADMIN, OPERATOR, READ, STUDIO_PAGE, WRITE, Access
from rookdb.server.access import Endpoint, guarded
from rookdb.server.endpoints import (
    ai_tasks,
    batch,
    certificates,
    connection_strings,
    databases,
    documents,
    hilo,
    indexes,
    ongoing_tasks,
    queries,
    topology,
)
from rookdb.studio import STUDIO_PAGES, studio_page, studio_routes

__all__ = ["routes"]

_DB = "/databases/{database}"

# (methods, path, endpoint, access): the access is RavenDB's AuthorizationStatus and EndpointType for
# the same route; a Read permission passes READ routes only, database Admin passes DATABASE_ADMIN.
_TABLE: list[tuple[str, str, Endpoint, Access]] = [
    *[("GET", page, studio_page, STUDIO_PAGE) for page in STUDIO_PAGES],
    ("GET", "/topology", topology.database_topology, READ.database_from("name")),
    ("GET", "/cluster/topology", topology.cluster_topology, READ),
    ("GET", "/build/version", topology.build_version, READ),
    ("GET", "/databases", databases.list_databases, READ),
    ("PUT", "/admin/databases", databases.create_database, OPERATOR),
    ("DELETE", "/admin/databases", databases.delete_databases, OPERATOR),
    ("GET", "/admin/databases", databases.database_record, OPERATOR),
    ("POST", "/admin/certificates", certificates.create_certificate, OPERATOR),
    ("PUT", "/admin/certificates", certificates.put_certificate, OPERATOR),
    ("GET", "/admin/certificates", certificates.get_certificates, OPERATOR),
    ("DELETE", "/admin/certificates", certificates.delete_certificate, OPERATOR),
    ("POST", "/admin/certificates/edit", certificates.edit_certificate, OPERATOR),
    ("GET", "/certificates/whoami", certificates.who_am_i, READ),
    ("GET", f"{_DB}/docs", documents.get_documents, READ),
    ("POST", f"{_DB}/docs", documents.post_get_documents, READ),
    ("PUT", f"{_DB}/docs", documents.put_document, WRITE),
    ("DELETE", f"{_DB}/docs", documents.delete_document, WRITE),
    ("HEAD", f"{_DB}/docs", documents.head_document, READ),
    ("POST", f"{_DB}/bulk_docs", batch.bulk_docs, WRITE),
    ("POST", f"{_DB}/bulk_insert", batch.bulk_insert, WRITE),
    ("GET", f"{_DB}/operations/next-operation-id", batch.next_operation_id, READ),
    ("GET", f"{_DB}/hilo/next", hilo.hilo_next, WRITE),
    ("PUT", f"{_DB}/hilo/return", hilo.hilo_return, WRITE),
    ("POST", f"{_DB}/queries", queries.query, READ),
    ("GET", f"{_DB}/queries", queries.query, READ),
    ("GET", f"{_DB}/indexes", indexes.list_indexes, READ),
    ("DELETE", f"{_DB}/indexes", indexes.delete_index, WRITE),
    ("RESET", f"{_DB}/indexes", indexes.reset_index, WRITE),
    ("GET", f"{_DB}/indexes/stats", indexes.index_statistics, READ),
    ("GET", f"{_DB}/indexes/errors", indexes.index_errors, READ),
    ("DELETE", f"{_DB}/indexes/errors", indexes.clear_index_errors, WRITE),
    ("GET", f"{_DB}/indexes/status", indexes.indexing_status, READ),
    ("PUT", f"{_DB}/admin/indexes", indexes.put_indexes, DATABASE_ADMIN),
    ("PUT", f"{_DB}/indexes", indexes.put_javascript_indexes, WRITE),
    ("POST", f"{_DB}/indexes/has-changed", indexes.index_has_changed, READ),
    ("POST", f"{_DB}/admin/indexes/enable", indexes.enable_index, DATABASE_ADMIN),
    ("POST", f"{_DB}/admin/indexes/disable", indexes.disable_index, DATABASE_ADMIN),
    ("POST", f"{_DB}/admin/indexes/stop", indexes.stop_indexing, DATABASE_ADMIN),
    ("POST", f"{_DB}/admin/indexes/start", indexes.start_indexing, DATABASE_ADMIN),
    ("POST", f"{_DB}/indexes/set-lock", indexes.set_indexes_lock, WRITE),
    ("POST", f"{_DB}/indexes/set-priority", indexes.set_indexes_priority, WRITE),
    ("POST", f"{_DB}/studio/sample-data", databases.load_sample_data, WRITE),
    ("GET", f"{_DB}/stats", databases.database_statistics, READ),
    ("PUT", f"{_DB}/admin/connection-strings", connection_strings.put_connection_string, DATABASE_ADMIN),
    ("GET", f"{_DB}/admin/connection-strings", connection_strings.get_connection_strings, DATABASE_ADMIN),
    ("DELETE", f"{_DB}/admin/connection-strings", connection_strings.remove_connection_string, DATABASE_ADMIN),
    ("POST", f"{_DB}/admin/ai/test-connection", connection_strings.test_ai_connection, DATABASE_ADMIN),
    ("PUT", f"{_DB}/admin/etl", ongoing_tasks.put_etl, DATABASE_ADMIN),
    ("GET", f"{_DB}/task", ongoing_tasks.get_task, READ),
    ("GET", f"{_DB}/tasks", ongoing_tasks.list_tasks, READ),
    ("POST", f"{_DB}/admin/tasks/state", ongoing_tasks.toggle_task_state, DATABASE_ADMIN),
    ("DELETE", f"{_DB}/admin/tasks", ongoing_tasks.delete_task, DATABASE_ADMIN),
    ("GET", f"{_DB}/ai/tasks/progress", ai_tasks.tasks_progress, READ),
    ("GET", f"{_DB}/ai/errors", ai_tasks.get_errors, READ),
    ("DELETE", f"{_DB}/ai/errors", ai_tasks.clear_errors, DATABASE_ADMIN),
    ("GET", f"{_DB}/attachments", documents.get_attachment, READ),
]


def routes() -> list[BaseRoute]:
    """The table as starlette routes, each endpoint behind its guard; then the Studio's open assets."""
    table: list[BaseRoute] = [Route(path, guarded(access, endpoint), methods=[method])
                              for method, path, endpoint, access in _TABLE]
    return [*table, *studio_routes()]
