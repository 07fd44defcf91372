"""``rookdb certs init``'s files, their protection, and how settings find the server certificate."""

from __future__ import annotations

from pathlib import Path

import pytest

from rookdb.errors import ValidationError
from rookdb.security.clearance import SecurityClearance
from rookdb.security.provisioning import SecurityConfig, SecurityFiles, initialize
from rookdb.security.store import CertificateStore
from rookdb.settings import Settings


def test_initialize_writes_protected_files_and_registers_the_admin(tmp_path: Path) -> None:
    setup = initialize(tmp_path, ["db.example.test"])
    files = setup.files
    modes = {path.name: path.stat().st_mode & 0o777 for path in (files.authority, files.authority_key,
                                                                  files.server, files.admin, files.store)}
    assert modes == {"ca.pem": 0o644, "ca.key": 0o600, "server.pem": 0o600, "admin.pem": 0o600,
                     "registered.json": 0o600}
    admin = CertificateStore(files.store).get(setup.admin.certificate.thumbprint)
    assert admin is not None and admin.clearance is SecurityClearance.CLUSTER_ADMIN
    assert b"PRIVATE KEY" in files.admin.read_bytes() and b"PRIVATE KEY" not in files.authority.read_bytes()
    authority = files.load_authority()
    assert authority is not None
    setup.server.certificate.parsed.verify_directly_issued_by(authority.certificate.parsed)


def test_initialize_refuses_to_overwrite(tmp_path: Path) -> None:
    initialize(tmp_path)
    with pytest.raises(ValidationError, match="exists already"):
        initialize(tmp_path)


def test_config_finds_the_initialized_certificate(tmp_path: Path) -> None:
    settings = Settings({"Server.DataDir": str(tmp_path)}, environ={})
    assert SecurityConfig.from_settings(settings).secured is False
    initialize(tmp_path)
    config = SecurityConfig.from_settings(settings)
    assert config.certificate == SecurityFiles.under(tmp_path).server
    assert config.audit_folder == tmp_path / "logs"
    explicit = Settings({"Server.DataDir": str(tmp_path), "Security.Certificate.Path": "/x/server.pfx",
                         "Security.Certificate.Password": "pw", "Security.AuditLog.FolderPath": "/var/log/rook"},
                        environ={})
    config = SecurityConfig.from_settings(explicit)
    assert (config.certificate, config.password, config.audit_folder) == (
        Path("/x/server.pfx"), "pw", Path("/var/log/rook"))
