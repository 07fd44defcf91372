"""Who is calling: a client certificate checked against the store, as RavenDB authenticates a connection."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from rookdb.security.certificates import Certificate
from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.security.definitions import CertificateDefinition
from rookdb.security.store import CertificateStore

__all__ = ["AuthenticationStatus", "Authenticator", "Identity"]


class AuthenticationStatus(StrEnum):
    """RavenDB's ``AuthenticationStatus`` of a connection, plus ``Disabled`` for a disabled definition."""

    NO_CERTIFICATE_PROVIDED = "NoCertificateProvided"
    UNFAMILIAR_CERTIFICATE = "UnfamiliarCertificate"
    DISABLED = "Disabled"
    EXPIRED = "Expired"
    NOT_YET_VALID = "NotYetValid"
    ALLOWED = "Allowed"
    OPERATOR = "Operator"
    CLUSTER_ADMIN = "ClusterAdmin"


_BY_CLEARANCE = {
    SecurityClearance.CLUSTER_ADMIN: AuthenticationStatus.CLUSTER_ADMIN,
    SecurityClearance.CLUSTER_NODE: AuthenticationStatus.CLUSTER_ADMIN,
    SecurityClearance.OPERATOR: AuthenticationStatus.OPERATOR,
    SecurityClearance.VALID_USER: AuthenticationStatus.ALLOWED,
}


@dataclass(frozen=True)
class Identity:
    """The authenticated caller of one request; ``secured`` is False when the server runs without TLS."""

    status: AuthenticationStatus
    certificate: Certificate | None = None
    definition: CertificateDefinition | None = None
    secured: bool = True

    @classmethod
    def unsecured(cls) -> Identity:
        """Everyone, on a server without a certificate (RavenDB treats them as cluster admins)."""
        return _UNSECURED

    @property
    def is_authenticated(self) -> bool:
        return self.status in (AuthenticationStatus.ALLOWED, AuthenticationStatus.OPERATOR,
                               AuthenticationStatus.CLUSTER_ADMIN)

    @property
    def display_name(self) -> str:
        """How RavenDB names the certificate in a refusal: ``CN=app(Thumbprint: ABC...)``."""
        if self.certificate is None:
            return "(no certificate)"
        return f"{self.certificate.subject or self.certificate.thumbprint}(Thumbprint: {self.certificate.thumbprint})"

    @property
    def clearance(self) -> SecurityClearance | None:
        if not self.secured:
            return SecurityClearance.CLUSTER_ADMIN
        return self.definition.clearance if self.definition is not None else None

    def can_access(self, database: str, *, require_admin: bool, require_write: bool) -> bool:
        """RavenDB's ``CanAccess``: clearance above ``ValidUser`` reaches every database."""
        if self.status in (AuthenticationStatus.OPERATOR, AuthenticationStatus.CLUSTER_ADMIN):
            return True
        if self.status is not AuthenticationStatus.ALLOWED or self.definition is None:
            return False
        access = self.definition.access_to(database)
        if access is None:
            return False
        if access is DatabaseAccess.ADMIN:
            return True
        if require_admin:
            return False
        return access is DatabaseAccess.READ_WRITE or not require_write

    def visible(self, databases: list[str]) -> list[str]:
        """The databases this caller may see listed (every one above ``ValidUser``)."""
        if self.status in (AuthenticationStatus.OPERATOR, AuthenticationStatus.CLUSTER_ADMIN):
            return databases
        return [name for name in databases
                if self.can_access(name, require_admin=False, require_write=False)]


_UNSECURED = Identity(AuthenticationStatus.CLUSTER_ADMIN, secured=False)


class Authenticator:
    """Turns the certificate a TLS connection presented into an ``Identity``, against the store."""

    def __init__(self, store: CertificateStore, server_certificate: Certificate | None) -> None:
        self.store = store
        self.server_certificate = server_certificate

    def authenticate(self, certificate: Certificate | None, now: datetime | None = None) -> Identity:
        if certificate is None:
            return Identity(AuthenticationStatus.NO_CERTIFICATE_PROVIDED)
        moment = now or datetime.now(UTC)
        if certificate.not_after < moment:
            return Identity(AuthenticationStatus.EXPIRED, certificate)
        if certificate.not_before > moment:
            return Identity(AuthenticationStatus.NOT_YET_VALID, certificate)
        if self.server_certificate is not None and certificate.der == self.server_certificate.der:
            return Identity(AuthenticationStatus.CLUSTER_ADMIN, certificate)
        definition = self.store.get(certificate.thumbprint)
        if definition is None:
            return Identity(AuthenticationStatus.UNFAMILIAR_CERTIFICATE, certificate)
        if definition.disabled:
            return Identity(AuthenticationStatus.DISABLED, certificate, definition)
        return Identity(_BY_CLEARANCE[definition.clearance], certificate, definition)
