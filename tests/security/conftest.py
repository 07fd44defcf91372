"""Certificates made once per test session: an authority, a server and clients of every kind."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rookdb.security.issuing import (
    KeyedCertificate,
    create_authority,
    issue_client_certificate,
    issue_server_certificate,
)
from rookdb.security.store import CertificateStore


@pytest.fixture(scope="session")
def authority() -> KeyedCertificate:
    return create_authority("test authority")


@pytest.fixture(scope="session")
def server_identity(authority: KeyedCertificate) -> KeyedCertificate:
    return issue_server_certificate(authority, ["db.example.test"])


@pytest.fixture(scope="session")
def client(authority: KeyedCertificate) -> KeyedCertificate:
    return issue_client_certificate("app", authority)


@pytest.fixture(scope="session")
def expired_client(authority: KeyedCertificate) -> KeyedCertificate:
    now = datetime.now(UTC)
    return issue_client_certificate("old app", authority, now=now - timedelta(days=30),
                                    not_after=now - timedelta(days=1))


@pytest.fixture(scope="session")
def foreign_client() -> KeyedCertificate:
    """Self-signed: no authority rookdb knows issued it."""
    return issue_client_certificate("foreign", None)


@pytest.fixture
def store(tmp_path: Path) -> CertificateStore:
    return CertificateStore(tmp_path / "certs" / "registered.json")
