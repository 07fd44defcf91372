"""The database record as RavenDB's clients read it, and its administrative parts: the lock mode,
the disabled flag and the client configuration.

The stored record holds only what rookdb keeps (``LockMode``, ``Disabled``, ``Client``, ``Settings``,
the AI part); ``render_record`` fills in every other field of RavenDB's ``DatabaseRecordWithEtag``
with the value a one-node server without those features has, because the clients read some of them
unconditionally (5.2 builds ``DatabaseLockMode(record["LockMode"])`` and iterates ``AutoIndexes``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rookdb.documents.ai_record import RecordStore
from rookdb.errors import BadRequestError

__all__ = [
    "CLIENT_CONFIGURATION_KEY",
    "DISABLED_KEY",
    "LOCK_MODES",
    "LOCK_MODE_KEY",
    "NODE_TAG",
    "PREVENT_DELETES_ERROR",
    "PREVENT_DELETES_IGNORE",
    "UNLOCK",
    "client_configuration",
    "database_topology",
    "is_disabled",
    "lock_mode_of",
    "put_client_configuration",
    "render_client_configuration",
    "render_record",
    "set_disabled",
    "set_lock_mode",
    "validate_client_configuration",
    "validate_lock_mode",
]

LOCK_MODE_KEY = "LockMode"
DISABLED_KEY = "Disabled"
CLIENT_CONFIGURATION_KEY = "Client"

UNLOCK = "Unlock"
PREVENT_DELETES_IGNORE = "PreventDeletesIgnore"
PREVENT_DELETES_ERROR = "PreventDeletesError"
LOCK_MODES = (UNLOCK, PREVENT_DELETES_IGNORE, PREVENT_DELETES_ERROR)

NODE_TAG = "A"
# Record keys rookdb stores and renders as they are; the others stay private (sealed secrets, counters).
_RENDERED_KEYS = ("Settings", "EmbeddingsGenerations", "Indexes")

_CLIENT_CONFIGURATION_FIELDS: dict[str, tuple[type, ...]] = {
    "IdentityPartsSeparator": (str, type(None)),
    "Disabled": (bool,),
    "MaxNumberOfRequestsPerSession": (int, type(None)),
    "ReadBalanceBehavior": (str, type(None)),
    "LoadBalanceBehavior": (str, type(None)),
    "LoadBalancerContextSeed": (int, type(None)),
}


def validate_lock_mode(mode: Any) -> str:
    if mode not in LOCK_MODES:
        raise BadRequestError(f"Lock mode must be one of {', '.join(LOCK_MODES)}, got {mode!r}.")
    return str(mode)


def lock_mode_of(record: Mapping[str, Any]) -> str:
    return str(record.get(LOCK_MODE_KEY) or UNLOCK)


def validate_client_configuration(configuration: Any) -> dict[str, Any]:
    """The client configuration a client sent, reduced to RavenDB's fields (``Etag`` is the server's)."""
    if not isinstance(configuration, dict):
        raise BadRequestError("The client configuration must be a JSON object.")
    clean: dict[str, Any] = {}
    for name, kinds in _CLIENT_CONFIGURATION_FIELDS.items():
        value = configuration.get(name)
        if name == "Disabled":
            value = bool(value)
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise BadRequestError(f"ClientConfiguration.{name} has the wrong type: {value!r}.")
        clean[name] = value
    if clean["IdentityPartsSeparator"] == "|":
        raise BadRequestError("Cannot set identity parts separator to '|'.")
    return clean


def render_client_configuration(stored: Mapping[str, Any] | None, etag: int) -> dict[str, Any] | None:
    """A stored configuration in the client's shape (every field present), or None."""
    if not stored:
        return None
    rendered = {name: stored.get(name) for name in _CLIENT_CONFIGURATION_FIELDS}
    rendered["Disabled"] = bool(rendered["Disabled"])
    rendered["ReadBalanceBehavior"] = rendered["ReadBalanceBehavior"] or "None"
    rendered["LoadBalanceBehavior"] = rendered["LoadBalanceBehavior"] or "None"
    rendered["Etag"] = etag
    return rendered


def database_topology(database_id: str) -> dict[str, Any]:
    """The database's topology on this one-node server: node A is its only member."""
    return {
        "Members": [NODE_TAG], "Promotables": [], "Rehabs": [], "PredefinedMentors": {},
        "DemotionReasons": {}, "PromotablesStatus": {}, "ReplicationFactor": 1,
        "DynamicNodesDistribution": False, "Stamp": {"Index": 1, "Term": 1, "LeadersTicks": -2},
        "PriorityOrder": [], "NodesModifiedAt": None,
        "DatabaseTopologyIdBase64": database_id, "ClusterTransactionIdBase64": database_id,
    }


def render_record(name: str, database_id: str, stored: Mapping[str, Any], etag: int,
                  auto_indexes: Mapping[str, Any] | None = None,
                  indexes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """``GetDatabaseRecordOperation``'s answer: RavenDB's whole record with its ``Etag``."""
    record: dict[str, Any] = {
        "DatabaseName": name,
        "Disabled": bool(stored.get(DISABLED_KEY, False)),
        "Encrypted": False,
        "EtagForBackup": 0,
        "DeletionInProgress": {},
        "RollingIndexes": {},
        "DatabaseState": "Normal",
        "LockMode": lock_mode_of(stored),
        "Topology": database_topology(database_id),
        "Sharding": None,
        "ConflictSolverConfig": None,
        "DocumentsCompression": None,
        "Sorters": {},
        "Analyzers": {},
        "Indexes": dict(indexes or {}),
        "IndexesHistory": {},
        "AutoIndexes": dict(auto_indexes or {}),
        "Settings": {},
        "Revisions": None,
        "TimeSeries": None,
        "RevisionsForConflicts": None,
        "Expiration": None,
        "Refresh": None,
        "DataArchival": None,
        "Integrations": None,
        "PeriodicBackups": [],
        "ExternalReplications": [],
        "SinkPullReplications": [],
        "HubPullReplications": [],
        "RavenConnectionStrings": {},
        "SqlConnectionStrings": {},
        "OlapConnectionStrings": {},
        "ElasticSearchConnectionStrings": {},
        "QueueConnectionStrings": {},
        "RavenEtls": [],
        "SqlEtls": [],
        "OlapEtls": [],
        "ElasticSearchEtls": [],
        "QueueEtls": [],
        "QueueSinks": [],
        "EmbeddingsGenerations": [],
        "Client": render_client_configuration(stored.get(CLIENT_CONFIGURATION_KEY), etag),
        "Studio": None,
        "TruncatedClusterTransactionCommandsCount": 0,
        "UnusedDatabaseIds": [],
        "Etag": etag,
    }
    for key in _RENDERED_KEYS:
        if key in stored:
            record[key] = stored[key]
    return record


def set_lock_mode(store: RecordStore, mode: str) -> int:
    """Change the lock mode; returns the record's new etag."""
    validate_lock_mode(mode)

    def change(record: dict[str, Any]) -> None:
        record[LOCK_MODE_KEY] = mode

    return store.update_record(change)[1]


def set_disabled(store: RecordStore, disabled: bool) -> int:
    def change(record: dict[str, Any]) -> None:
        record[DISABLED_KEY] = disabled

    return store.update_record(change)[1]


def is_disabled(store: RecordStore) -> bool:
    return bool(store.record()[0].get(DISABLED_KEY, False))


def client_configuration(store: RecordStore) -> tuple[dict[str, Any] | None, int]:
    """The database's client configuration in the client's shape (None when never set), and the etag."""
    record, etag = store.record()
    return render_client_configuration(record.get(CLIENT_CONFIGURATION_KEY), etag), etag


def put_client_configuration(store: RecordStore, configuration: Any) -> int:
    clean = validate_client_configuration(configuration)

    def change(record: dict[str, Any]) -> None:
        record[CLIENT_CONFIGURATION_KEY] = clean

    return store.update_record(change)[1]
