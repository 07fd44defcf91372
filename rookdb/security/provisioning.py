"""Secured mode's files under the data directory, the one-command setup, and the server's configuration."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from rookdb.errors import ValidationError
from rookdb.security._files import OWNER_ONLY, PUBLIC_READ, write_file
from rookdb.security.clearance import SecurityClearance
from rookdb.security.definitions import CertificateDefinition
from rookdb.security.issuing import (
    KeyedCertificate,
    create_authority,
    issue_client_certificate,
    issue_server_certificate,
    load_keyed_certificate,
)
from rookdb.security.store import CertificateStore
from rookdb.settings import Settings

__all__ = ["ADMIN_CERTIFICATE_NAME", "SecurityConfig", "SecurityFiles", "initialize"]

ADMIN_CERTIFICATE_NAME = "admin"


@dataclass(frozen=True)
class SecurityFiles:
    """Where secured mode keeps its files: ``<data dir>/certs/``."""

    directory: Path

    @classmethod
    def under(cls, data_dir: Path) -> SecurityFiles:
        return cls(data_dir / "certs")

    @property
    def authority(self) -> Path:
        """The CA certificate: what a client's ``trust_store_path`` takes."""
        return self.directory / "ca.pem"

    @property
    def authority_key(self) -> Path:
        return self.directory / "ca.key"

    @property
    def server(self) -> Path:
        """The server certificate, its chain and its key (owner-only)."""
        return self.directory / "server.pem"

    @property
    def admin(self) -> Path:
        """The first ClusterAdmin client certificate with its key: what ``certificate_pem_path`` takes."""
        return self.directory / "admin.pem"

    @property
    def store(self) -> Path:
        """The registered client certificates (the server's own store, outside every database)."""
        return self.directory / "registered.json"

    def load_authority(self) -> KeyedCertificate | None:
        if not self.authority.exists() or not self.authority_key.exists():
            return None
        return load_keyed_certificate(self.authority, self.authority_key)


@dataclass(frozen=True)
class SetupResult:
    files: SecurityFiles
    server: KeyedCertificate
    admin: KeyedCertificate


def initialize(data_dir: Path, hosts: Iterable[str] = ()) -> SetupResult:
    """Create the CA, a server certificate for ``hosts`` and loopback, and a registered ClusterAdmin client."""
    files = SecurityFiles.under(data_dir)
    existing = [path for path in (files.authority, files.server, files.admin) if path.exists()]
    if existing:
        raise ValidationError("--data-dir", f"{existing[0]} exists already: secured mode is set up in "
                                            f"{files.directory} (remove that folder to start over)")
    authority = create_authority()
    server = issue_server_certificate(authority, hosts)
    admin = issue_client_certificate(ADMIN_CERTIFICATE_NAME, authority)
    write_file(files.authority_key, authority.key_pem(), OWNER_ONLY)
    write_file(files.authority, authority.certificate_pem(), PUBLIC_READ)
    write_file(files.server, server.pem_with_key(), OWNER_ONLY)
    write_file(files.admin, admin.pem_with_key(), OWNER_ONLY)
    CertificateStore(files.store).put(CertificateDefinition.for_certificate(
        admin.certificate, ADMIN_CERTIFICATE_NAME, SecurityClearance.CLUSTER_ADMIN, {}))
    return SetupResult(files, server, admin)


@dataclass(frozen=True)
class SecurityConfig:
    """Secured mode as the settings describe it; ``certificate`` is None when the server runs without TLS."""

    files: SecurityFiles
    certificate: Path | None
    key: Path | None
    password: str | None
    audit_folder: Path

    @classmethod
    def from_settings(cls, settings: Settings, data_dir: Path | None = None) -> SecurityConfig:
        root = Path(data_dir or settings["Server.DataDir"])
        files = SecurityFiles.under(root)
        configured = settings["Security.Certificate.Path"]
        certificate = Path(configured) if configured else (files.server if files.server.exists() else None)
        key = settings["Security.Certificate.KeyPath"]
        audit = settings["Security.AuditLog.FolderPath"]
        return cls(files=files, certificate=certificate, key=Path(key) if key else None,
                   password=settings["Security.Certificate.Password"] or None,
                   audit_folder=Path(audit) if audit else root / "logs")

    @property
    def secured(self) -> bool:
        return self.certificate is not None
