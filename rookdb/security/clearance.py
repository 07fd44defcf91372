"""RavenDB's vocabulary of authorization: clearances, database permissions and what a route requires."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = [
    "CLUSTER_ADMIN",
    "DATABASE_ADMIN",
    "OPERATOR",
    "PUBLIC",
    "READ",
    "STUDIO_PAGE",
    "WRITE",
    "Access",
    "AuthorizationStatus",
    "DatabaseAccess",
    "EndpointType",
    "SecurityClearance",
]


class SecurityClearance(StrEnum):
    """The clearance a registered certificate carries (RavenDB's ``SecurityClearance``)."""

    UNAUTHENTICATED_CLIENTS = "UnauthenticatedClients"
    CLUSTER_ADMIN = "ClusterAdmin"
    CLUSTER_NODE = "ClusterNode"
    OPERATOR = "Operator"
    VALID_USER = "ValidUser"


class DatabaseAccess(StrEnum):
    """A ``ValidUser`` certificate's permission on one database."""

    READ_WRITE = "ReadWrite"
    ADMIN = "Admin"
    READ = "Read"


class AuthorizationStatus(StrEnum):
    """What a route requires of the caller (RavenDB's ``AuthorizationStatus`` on every ``RavenAction``)."""

    UNAUTHENTICATED_CLIENTS = "UnauthenticatedClients"
    VALID_USER = "ValidUser"
    DATABASE_ADMIN = "DatabaseAdmin"
    OPERATOR = "Operator"
    CLUSTER_ADMIN = "ClusterAdmin"


class EndpointType(StrEnum):
    """Whether a route changes data: a ``Read`` permission is enough only for ``Read`` routes."""

    READ = "Read"
    WRITE = "Write"


@dataclass(frozen=True)
class Access:
    """The authorization a route declares beside its method and path.

    ``database_query`` names the query-string parameter that carries the database for server routes
    that act on one (``/topology?name=``); database routes take it from the path. ``page`` marks the
    Studio's HTML page, which RavenDB refuses to callers without a known certificate although its
    assets are open.
    """

    status: AuthorizationStatus
    endpoint: EndpointType = EndpointType.READ
    database_query: str | None = None
    page: bool = False

    def database_from(self, query: str) -> Access:
        """The same access, with the database named by the query-string parameter ``query``."""
        return Access(self.status, self.endpoint, query, self.page)


PUBLIC = Access(AuthorizationStatus.UNAUTHENTICATED_CLIENTS)
STUDIO_PAGE = Access(AuthorizationStatus.UNAUTHENTICATED_CLIENTS, page=True)
READ = Access(AuthorizationStatus.VALID_USER, EndpointType.READ)
WRITE = Access(AuthorizationStatus.VALID_USER, EndpointType.WRITE)
DATABASE_ADMIN = Access(AuthorizationStatus.DATABASE_ADMIN)
OPERATOR = Access(AuthorizationStatus.OPERATOR)
CLUSTER_ADMIN = Access(AuthorizationStatus.CLUSTER_ADMIN)
