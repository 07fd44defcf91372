"""Every setting rookdb reads, declared once: key, type, default, unit, scope, minimum and help.

Values resolve in this order: explicit overrides (CLI or code), environment variables
(``ROOKDB_`` + the key upper-cased with dots as underscores, e.g. ``ROOKDB_AI_EMBEDDINGS_MAXBATCHSIZE``),
then the default. Keys follow RavenDB's names where RavenDB has one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal, overload

from rookdb.errors import ValidationError

__all__ = ["SETTINGS", "Setting", "Settings", "env_name"]

Scope = Literal["server", "database"]


@dataclass(frozen=True)
class Setting:
    key: str
    type: type
    default: Any
    help: str
    scope: Scope = "server"
    unit: str | None = None
    minimum: float | None = None


SETTINGS: tuple[Setting, ...] = (
    Setting("Server.DataDir", str, "./rookdb-data", "Directory holding one folder per database."),
    Setting("Server.Host", str, "127.0.0.1", "Address the HTTP server binds to."),
    Setting("Server.Port", int, 8080, "Port the HTTP server listens on.", minimum=0),
    Setting("Server.AccessLog", bool, True,
            "Write one line per request to standard output (client, method, path and query, status, milliseconds), "
            "in batches at most 0.1 s apart."),
    Setting("Security.UnsecuredAccessAllowed", bool, False,
            "Allow binding to a non-loopback address without TLS (anyone on the network gets full access)."),
    Setting("Security.MasterKeyPath", str, "",
            "File holding the key that encrypts secrets at rest; default: <data dir>/master.key."),
    Setting("Security.Certificate.Path", str, "",
            "Server certificate (PEM with its key, or PKCS#12 .pfx): the server serves HTTPS and requires client "
            "certificates; default: <data dir>/certs/server.pem when `rookdb certs init` made it."),
    Setting("Security.Certificate.KeyPath", str, "",
            "PEM private key of the server certificate when Security.Certificate.Path does not hold it."),
    Setting("Security.Certificate.Password", str, "",
            "Password of the server certificate's key or .pfx file (never logged)."),
    Setting("Security.AuditLog.FolderPath", str, "",
            "Folder of the audit log (audit.log: who, which certificate, which database, allowed or refused) "
            "in secured mode; default: <data dir>/logs."),
    Setting("Server.PublicUrl", str, "",
            "The URL other nodes give clients for this node (RavenDB's PublicServerUrl); default: "
            "http(s)://Server.Host:Server.Port."),
    Setting("Cluster.NodeTag", str, "",
            "This node's tag among the nodes sharing one Storage.Url (A, B…); default: the tag it got when it "
            "first joined (kept in Server.DataDir), else the first free one."),
    Setting("Cluster.HeartbeatIntervalInSec", float, 1.0,
            "How often a node says it is alive and reads which other nodes are.", unit="seconds", minimum=0.05),
    Setting("Cluster.NodeTimeoutInSec", float, 5.0,
            "A node silent this long leaves the topology and its embeddings tasks move to another node.",
            unit="seconds", minimum=0.2),
    Setting("Storage.Url", str, "",
            "Where documents live: empty for one SQLite file per database under Server.DataDir; "
            "postgresql://user:password@host:port/dbname for one PostgreSQL database that every node shares "
            "(indexes stay under each node's Server.DataDir)."),
    Setting("Storage.PostgreSql.Catalog", str, "rookdb",
            "Schema listing the databases; each database gets schema <catalog>_db_<n>. Nodes with the same "
            "Storage.Url and catalog serve the same databases."),
    Setting("Storage.PostgreSql.MaxConnections", int, 10,
            "Most connections this node opens to PostgreSQL (shared by all its databases).", minimum=2),
    Setting("Storage.PostgreSql.ConnectTimeoutInSec", float, 5.0,
            "Longest wait for a PostgreSQL connection before a request is answered 503.", unit="seconds",
            minimum=0.1),
    Setting("Logs.Mode", str, "None",
            "Server log verbosity: None (warnings and errors), Operations, Information; changeable at run time."),
    Setting("Query.TimeoutInSec", float, 30.0, "Longest time a query may run.", unit="seconds", minimum=0.1),
    Setting("Ai.Embeddings.MaxBatchSize", int, 128,
            "Maximum number of documents per embeddings-task batch.", scope="database", minimum=1),
    Setting("Ai.Embeddings.MaxConcurrentBatches", int, 4,
            "Maximum concurrent provider batches (query embeddings; task batches per connection string).",
            scope="database", minimum=1),
    Setting("Ai.Embeddings.MaxFallbackTimeInSec", float, 900.0,
            "Longest suspension of a task after a provider connection failure.",
            scope="database", unit="seconds", minimum=0.0),
    Setting("Ai.Embeddings.ProviderTimeoutInSec", float, 60.0,
            "Timeout of one provider HTTP request.", unit="seconds", minimum=0.1),
    Setting("Ai.Embeddings.TestConnectionTimeoutInSec", float, 15.0,
            "Upper bound on a Test Connection call.", unit="seconds", minimum=0.1),
    Setting("Ai.Embeddings.ScriptTimeoutInMs", int, 1000,
            "Time limit of one embeddings-script run per document.", unit="milliseconds", minimum=1),
    Setting("Ai.Embeddings.ScriptMemoryLimitInMb", int, 64,
            "Memory limit of the embeddings-script engine.", unit="megabytes", minimum=8),
    Setting("Ai.Embeddings.LocalModelThreads", int, 0,
            "Threads the embedded model may use (RavenDB: MaxNumberOfThreadsForLocalEmbeddingsGeneration); 0: "
            "every core while no request is in flight, RavenDB's share of them while one is.",
            minimum=0),
    Setting("Indexing.MapBatchSize", int, 2048,
            "Changes an index applies per transaction (with its checkpoint) before giving others a turn.",
            scope="database", minimum=1),
    Setting("Indexing.Corax.VectorSearch.DefaultMinimumSimilarity", float, 0.0,
            "Default minimum similarity of vector.search (0 = no filtering).", scope="database", minimum=0.0),
    Setting("Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForQuerying", int, 16,
            "Default number of candidates (efSearch) of vector.search.", scope="database", minimum=1),
    Setting("Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForIndexing", int, 16,
            "HNSW efConstruction.", scope="database", minimum=1),
    Setting("Indexing.Corax.VectorSearch.DefaultNumberOfEdges", int, 12,
            "HNSW M (edges per node).", scope="database", minimum=2),
    Setting("Indexing.Corax.VectorSearch.OrderByScoreAutomatically", bool, True,
            "Order results by score when vector.search is present.", scope="database"),
    Setting("Indexing.Corax.VectorSearch.VectorSearchScanningThreshold", int, 1024,
            "Below this filter-match count a filtered vector search runs exactly.", scope="database",
            minimum=0),
    Setting("ETL.ProcessHealthStatusImpairedThreshold", float, 0.1,
            "A task whose failure ratio (EWMA of failed/total per batch) exceeds this is Impaired.",
            scope="database", minimum=0.0),
    Setting("ETL.ProcessHealthStatusFailedThreshold", float, 0.9,
            "A task whose failure ratio (EWMA of failed/total per batch) exceeds this is Failed.",
            scope="database", minimum=0.0),
    Setting("Patching.ScriptTimeoutInMs", int, 1000,
            "Time limit of a patch script on one batch of documents; a batch past it runs again document by "
            "document and only the documents that exceed it alone fail (RavenDB counts steps instead).",
            unit="milliseconds", minimum=1),
    Setting("Patching.ScriptMemoryLimitInMb", int, 256,
            "Memory limit of the JavaScript engine that runs patch scripts (its whole heap).",
            unit="megabytes", minimum=16),
    Setting("Patching.MaxNumberOfCachedScripts", int, 256,
            "Compiled patch scripts each patch host keeps.", minimum=1),
    Setting("Patching.Hosts", int, 2, "Patch host processes (patch scripts running at the same time).",
            minimum=1),
    Setting("Expiration.DeleteFrequencyInSec", float, 60.0,
            "How often expired documents are deleted.", scope="database", unit="seconds", minimum=0.05),
)

_BY_KEY = {setting.key: setting for setting in SETTINGS}


def env_name(key: str) -> str:
    """The environment variable that sets ``key``."""
    return "ROOKDB_" + key.upper().replace(".", "_")


def _cast(setting: Setting, raw: Any) -> Any:
    try:
        if setting.type is bool and isinstance(raw, str):
            lowered = raw.strip().lower()
            if lowered not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            value: Any = lowered in ("true", "1", "yes")
        else:
            value = setting.type(raw)
    except (TypeError, ValueError) as error:
        raise ValidationError(setting.key, f"expected {setting.type.__name__}, got {raw!r}") from error
    if setting.minimum is not None and value < setting.minimum:
        raise ValidationError(setting.key, f"must be at least {setting.minimum}, got {value}")
    return value


class Settings:
    """A frozen, validated view of every setting.

    ``settings["Key"]`` is typed: one overload per setting gives its value's type, so mypy rejects an
    unknown key or a misused value (a test checks the overloads against ``SETTINGS``).
    """

    def __init__(self, overrides: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None):
        environ = os.environ if environ is None else environ
        overrides = dict(overrides or {})
        unknown = sorted(set(overrides) - set(_BY_KEY))
        if unknown:
            raise ValidationError(unknown[0], "is not a rookdb setting")
        values: dict[str, Any] = {}
        for setting in SETTINGS:
            if setting.key in overrides:
                values[setting.key] = _cast(setting, overrides[setting.key])
            elif env_name(setting.key) in environ:
                values[setting.key] = _cast(setting, environ[env_name(setting.key)])
            else:
                values[setting.key] = setting.default
        self._values = values

    @overload
    def __getitem__(self, key: Literal["Server.DataDir"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Server.Host"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Server.Port"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Server.AccessLog"]) -> bool: ...
    @overload
    def __getitem__(self, key: Literal["Security.UnsecuredAccessAllowed"]) -> bool: ...
    @overload
    def __getitem__(self, key: Literal["Security.MasterKeyPath"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Security.Certificate.Path"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Security.Certificate.KeyPath"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Security.Certificate.Password"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Security.AuditLog.FolderPath"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Server.PublicUrl"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Cluster.NodeTag"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Cluster.HeartbeatIntervalInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Cluster.NodeTimeoutInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Storage.Url"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Storage.PostgreSql.Catalog"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Storage.PostgreSql.MaxConnections"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Storage.PostgreSql.ConnectTimeoutInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Logs.Mode"]) -> str: ...
    @overload
    def __getitem__(self, key: Literal["Query.TimeoutInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.MaxBatchSize"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.MaxConcurrentBatches"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.MaxFallbackTimeInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.ProviderTimeoutInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.TestConnectionTimeoutInSec"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.ScriptTimeoutInMs"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.ScriptMemoryLimitInMb"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Ai.Embeddings.LocalModelThreads"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.MapBatchSize"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.Corax.VectorSearch.DefaultMinimumSimilarity"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForQuerying"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.Corax.VectorSearch.DefaultNumberOfCandidatesForIndexing"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.Corax.VectorSearch.DefaultNumberOfEdges"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.Corax.VectorSearch.OrderByScoreAutomatically"]) -> bool: ...
    @overload
    def __getitem__(self, key: Literal["Indexing.Corax.VectorSearch.VectorSearchScanningThreshold"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["ETL.ProcessHealthStatusImpairedThreshold"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["ETL.ProcessHealthStatusFailedThreshold"]) -> float: ...
    @overload
    def __getitem__(self, key: Literal["Patching.ScriptTimeoutInMs"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Patching.ScriptMemoryLimitInMb"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Patching.MaxNumberOfCachedScripts"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Patching.Hosts"]) -> int: ...
    @overload
    def __getitem__(self, key: Literal["Expiration.DeleteFrequencyInSec"]) -> float: ...
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def with_overrides(self, overrides: Mapping[str, Any]) -> Settings:
        """A copy with some values replaced (validated)."""
        return Settings({**self._values, **overrides}, environ={})

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)
