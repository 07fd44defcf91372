"""The server's security, secured or not: TLS, the certificate store, who is calling, administration, audit."""

from __future__ import annotations

from functools import lru_cache

from rookdb.security.administration import CertificateAdministration
from rookdb.security.audit import AuditLog
from rookdb.security.authentication import Authenticator, Identity
from rookdb.security.certificates import Certificate
from rookdb.security.provisioning import SecurityConfig
from rookdb.security.store import CertificateStore
from rookdb.security.tls import ServerTls

__all__ = ["ServerSecurity"]

_PARSED_CERTIFICATES = 1024  # distinct client certificates kept parsed between requests


class ServerSecurity:
    """Everything the HTTP layer asks about security; ``tls`` is None on a server without a certificate."""

    def __init__(self, config: SecurityConfig) -> None:
        self.config = config
        self.store = CertificateStore(config.files.store)
        authority = config.files.load_authority()
        self.tls = (ServerTls(config.certificate, config.key, config.password)
                    if config.certificate is not None else None)
        self.audit = AuditLog(config.audit_folder) if self.tls is not None else None
        server = self.tls.certificate if self.tls is not None else None
        self.authenticator = Authenticator(self.store, server)
        self.administration = CertificateAdministration(self.store, authority=authority, server=server,
                                                        audit=self.audit)

    @property
    def secured(self) -> bool:
        return self.tls is not None

    def identify(self, client_certificate_pem: str | None) -> Identity:
        """The caller presenting this certificate (PEM, from the TLS connection), or anyone when unsecured."""
        if self.tls is None:
            return Identity.unsecured()
        certificate = _parsed(client_certificate_pem) if client_certificate_pem else None
        return self.authenticator.authenticate(certificate)

    def close(self) -> None:
        if self.audit is not None:
            self.audit.close()


@lru_cache(maxsize=_PARSED_CERTIFICATES)
def _parsed(pem: str) -> Certificate:
    return Certificate.from_pem(pem)
