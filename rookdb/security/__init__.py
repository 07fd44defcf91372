"""Secured mode: certificates, the certificate store, authentication, authorization and the audit log.

Sits beside the data layers and imports none of them; the HTTP server asks it who is calling and
whether a route's declared ``Access`` lets them through.
"""

from rookdb.security.authentication import AuthenticationStatus, Identity
from rookdb.security.authorization import refusal
from rookdb.security.clearance import (
    CLUSTER_ADMIN,
    DATABASE_ADMIN,
    OPERATOR,
    PUBLIC,
    READ,
    STUDIO_PAGE,
    WRITE,
    Access,
    DatabaseAccess,
    SecurityClearance,
)
from rookdb.security.definitions import CertificateRequest
from rookdb.security.provisioning import SecurityConfig, SecurityFiles, initialize
from rookdb.security.service import ServerSecurity

__all__ = [
    "CLUSTER_ADMIN",
    "DATABASE_ADMIN",
    "OPERATOR",
    "PUBLIC",
    "READ",
    "STUDIO_PAGE",
    "WRITE",
    "Access",
    "AuthenticationStatus",
    "CertificateRequest",
    "DatabaseAccess",
    "Identity",
    "SecurityClearance",
    "SecurityConfig",
    "SecurityFiles",
    "ServerSecurity",
    "initialize",
    "refusal",
]
