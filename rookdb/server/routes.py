"""The route table: every HTTP endpoint rookdb serves, with the authorization RavenDB declares for it."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route, WebSocketRoute

from rookdb.security import DATABASE_ADMIN, OPERATOR, READ, STUDIO_PAGE, WRITE, Access
from rookdb.server.access import Endpoint, guarded
from rookdb.server.endpoints import (
    ai_tasks,
    batch,
    certificates,
    changes,
    compare_exchange,
    configuration,
    connection_strings,
    databases,
    documents,
    hilo,
    identities,
    indexes,
    logs,
    multi_get,
    ongoing_tasks,
    operations,
    patches,
    queries,
    topology,
)
from rookdb.server.routing import DATABASE_PREFIX
from rookdb.studio import STUDIO_PAGES, studio_page, studio_routes

__all__ = ["routes"]

_DB = DATABASE_PREFIX

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
    ("POST", "/admin/databases/set-lock", databases.set_databases_lock, OPERATOR),
    ("POST", "/admin/databases/disable", databases.toggle_databases_state, OPERATOR),
    ("POST", "/admin/databases/enable", databases.toggle_databases_state, OPERATOR),
    ("POST", "/admin/databases/promote", databases.promote_database_node, OPERATOR),
    ("POST", "/admin/databases/reorder", databases.reorder_database_members, OPERATOR),
    ("POST", "/admin/compact", databases.compact_database, OPERATOR),
    ("GET", "/admin/logs/configuration", logs.get_logs_configuration, OPERATOR),
    ("POST", "/admin/logs/configuration", logs.set_logs_configuration, OPERATOR),
    ("GET", "/operations/state", operations.operation_state, READ),
    ("POST", "/operations/kill", operations.kill_operation, OPERATOR),
    ("GET", "/configuration/client", configuration.get_server_client_configuration, READ),
    ("PUT", "/admin/configuration/client", configuration.put_server_client_configuration, OPERATOR),
    ("POST", "/admin/certificates", certificates.create_certificate, OPERATOR),
    ("PUT", "/admin/certificates", certificates.put_certificate, OPERATOR),
    ("GET", "/admin/certificates", certificates.get_certificates, OPERATOR),
    ("DELETE", "/admin/certificates", certificates.delete_certificate, OPERATOR),
    ("POST", "/admin/certificates/edit", certificates.edit_certificate, OPERATOR),
    ("GET", "/certificates/whoami", certificates.who_am_i, READ),
    # HEAD before GET: starlette's GET routes answer HEAD too.
    ("HEAD", f"{_DB}/docs", documents.head_document, READ),
    ("GET", f"{_DB}/docs", documents.get_documents, READ),
    ("POST", f"{_DB}/docs", documents.post_get_documents, READ),
    ("PUT", f"{_DB}/docs", documents.put_document, WRITE),
    ("DELETE", f"{_DB}/docs", documents.delete_document, WRITE),
    ("PATCH", f"{_DB}/docs", patches.patch_document, WRITE),
    ("PATCH", f"{_DB}/json-patch", patches.json_patch_document, WRITE),
    ("POST", f"{_DB}/bulk_docs", batch.bulk_docs, WRITE),
    ("POST", f"{_DB}/multi_get", multi_get.multi_get, READ),
    ("POST", f"{_DB}/bulk_insert", batch.bulk_insert, WRITE),
    ("GET", f"{_DB}/operations/next-operation-id", operations.next_operation_id, READ),
    ("GET", f"{_DB}/operations/state", operations.operation_state, READ),
    ("POST", f"{_DB}/operations/kill", operations.kill_operation, WRITE),
    ("GET", f"{_DB}/hilo/next", hilo.hilo_next, WRITE),
    ("PUT", f"{_DB}/hilo/return", hilo.hilo_return, WRITE),
    ("POST", f"{_DB}/identity/next", identities.next_identity, WRITE),
    ("POST", f"{_DB}/identity/seed", identities.seed_identity, DATABASE_ADMIN),
    ("GET", f"{_DB}/debug/identities", identities.list_identities, READ),
    ("POST", f"{_DB}/queries", queries.query, READ),
    ("GET", f"{_DB}/queries", queries.query, READ),
    ("PATCH", f"{_DB}/queries", queries.patch_by_query, WRITE),
    ("DELETE", f"{_DB}/queries", queries.delete_by_query, WRITE),
    ("GET", f"{_DB}/indexes", indexes.list_indexes, READ),
    ("DELETE", f"{_DB}/indexes", indexes.delete_index, WRITE),
    ("RESET", f"{_DB}/indexes", indexes.reset_index, WRITE),
    ("GET", f"{_DB}/indexes/stats", indexes.index_statistics, READ),
    ("GET", f"{_DB}/indexes/terms", indexes.index_terms, READ),
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
    ("GET", f"{_DB}/stats/detailed", databases.detailed_database_statistics, READ),
    ("GET", f"{_DB}/collections/stats", databases.collection_statistics, READ),
    ("GET", f"{_DB}/configuration/client", configuration.get_client_configuration, READ),
    ("PUT", f"{_DB}/admin/configuration/client", configuration.put_client_configuration, DATABASE_ADMIN),
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
    ("POST", f"{_DB}/ai/tasks/plan", ai_tasks.plan_task, DATABASE_ADMIN),
    ("GET", f"{_DB}/ai/errors", ai_tasks.get_errors, READ),
    ("DELETE", f"{_DB}/ai/errors", ai_tasks.clear_errors, DATABASE_ADMIN),
    ("HEAD", f"{_DB}/attachments", documents.head_attachment, READ),
    ("GET", f"{_DB}/attachments", documents.get_attachment, READ),
    ("PUT", f"{_DB}/attachments", documents.put_attachment, WRITE),
    ("DELETE", f"{_DB}/attachments", documents.delete_attachment, WRITE),
    ("GET", f"{_DB}/cmpxchg", compare_exchange.get_values, READ),
    ("PUT", f"{_DB}/cmpxchg", compare_exchange.put_value, WRITE),
    ("DELETE", f"{_DB}/cmpxchg", compare_exchange.delete_value, WRITE),
]


def routes() -> list[BaseRoute]:
    """The table as starlette routes, each endpoint behind its guard; then the Studio's open assets.

    HEAD routes come first: starlette answers HEAD on every GET route too, and the first match wins.
    """
    ordered = sorted(_TABLE, key=lambda row: row[0] != "HEAD")
    table: list[BaseRoute] = [Route(path, guarded(access, endpoint), methods=[method])
                              for method, path, endpoint, access in ordered]
    # The changes websocket checks the same READ access itself (the guard serves HTTP requests).
    return [*table, WebSocketRoute(f"{_DB}/changes", changes.changes), *studio_routes()]
