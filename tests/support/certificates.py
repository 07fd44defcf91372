"""Registered client certificates in tests: a certificate definition put in the server's store."""

from __future__ import annotations

from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.security.definitions import CertificateDefinition
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.store import CertificateStore


def register(store: CertificateStore, keyed: KeyedCertificate, clearance: SecurityClearance,
             permissions: dict[str, DatabaseAccess] | None = None, name: str = "app") -> CertificateDefinition:
    definition = CertificateDefinition.for_certificate(keyed.certificate, name, clearance, permissions or {})
    store.put(definition)
    return definition
