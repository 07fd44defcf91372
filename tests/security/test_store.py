"""The certificate store: persisted outside every database, shared between processes, owner-only."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from rookdb.errors import StorageError
from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.store import CertificateStore
from tests.support.certificates import register


def test_put_get_delete_survive_a_new_store(store: CertificateStore, client: KeyedCertificate) -> None:
    definition = register(store, client, SecurityClearance.VALID_USER, {"db": DatabaseAccess.READ})
    reopened = CertificateStore(store.path)
    assert reopened.get(client.certificate.thumbprint) == definition
    assert reopened.get(client.certificate.thumbprint.lower()) == definition
    assert reopened.delete(client.certificate.thumbprint) is True
    assert reopened.delete(client.certificate.thumbprint) is False
    assert CertificateStore(store.path).all() == []


def test_a_change_by_another_store_shows_on_the_next_lookup(store: CertificateStore, client: KeyedCertificate,
                                                            foreign_client: KeyedCertificate) -> None:
    other = CertificateStore(store.path)
    register(other, client, SecurityClearance.OPERATOR)
    assert store.get(client.certificate.thumbprint) is not None
    register(other, foreign_client, SecurityClearance.VALID_USER, name="foreign")
    assert [definition.name for definition in store.all()] == ["app", "foreign"]
    other.delete(client.certificate.thumbprint)
    assert store.get(client.certificate.thumbprint) is None


def test_file_is_owner_only(store: CertificateStore, client: KeyedCertificate) -> None:
    register(store, client, SecurityClearance.VALID_USER)
    assert store.path.stat().st_mode & 0o777 == 0o600


def test_unreadable_file_is_a_storage_error(tmp_path: Path) -> None:
    path = tmp_path / "registered.json"
    path.write_text('{"Certificates": [{"Name": 1}]}')
    os.chmod(path, 0o600)
    with pytest.raises(StorageError, match="cannot be read"):
        CertificateStore(path)
