"""Who is calling: every authentication status RavenDB knows, from the certificate and the store."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from rookdb.security.authentication import AuthenticationStatus, Authenticator, Identity
from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.store import CertificateStore
from tests.support.certificates import register


@pytest.mark.parametrize(
    ("clearance", "status"),
    [
        (SecurityClearance.CLUSTER_ADMIN, AuthenticationStatus.CLUSTER_ADMIN),
        (SecurityClearance.CLUSTER_NODE, AuthenticationStatus.CLUSTER_ADMIN),
        (SecurityClearance.OPERATOR, AuthenticationStatus.OPERATOR),
        (SecurityClearance.VALID_USER, AuthenticationStatus.ALLOWED),
    ],
)
def test_registered_certificate_gets_its_clearance(store: CertificateStore, client: KeyedCertificate,
                                                   clearance: SecurityClearance,
                                                   status: AuthenticationStatus) -> None:
    register(store, client, clearance)
    identity = Authenticator(store, None).authenticate(client.certificate)
    assert identity.status is status
    assert identity.definition is not None and identity.is_authenticated


def test_unregistered_missing_expired_disabled_and_server(store: CertificateStore, client: KeyedCertificate,
                                                          expired_client: KeyedCertificate,
                                                          server_identity: KeyedCertificate) -> None:
    authenticator = Authenticator(store, server_identity.certificate)
    assert authenticator.authenticate(None).status is AuthenticationStatus.NO_CERTIFICATE_PROVIDED
    assert authenticator.authenticate(client.certificate).status is AuthenticationStatus.UNFAMILIAR_CERTIFICATE
    register(store, expired_client, SecurityClearance.CLUSTER_ADMIN)
    assert authenticator.authenticate(expired_client.certificate).status is AuthenticationStatus.EXPIRED
    early = client.certificate.not_before - timedelta(days=1)
    assert authenticator.authenticate(client.certificate, now=early).status is AuthenticationStatus.NOT_YET_VALID
    definition = register(store, client, SecurityClearance.VALID_USER)
    store.put(replace(definition, disabled=True))
    assert authenticator.authenticate(client.certificate).status is AuthenticationStatus.DISABLED
    assert authenticator.authenticate(server_identity.certificate).status is AuthenticationStatus.CLUSTER_ADMIN


@pytest.mark.parametrize(
    ("access", "admin", "write", "allowed"),
    [
        (DatabaseAccess.READ, False, False, True),
        (DatabaseAccess.READ, False, True, False),
        (DatabaseAccess.READ, True, False, False),
        (DatabaseAccess.READ_WRITE, False, True, True),
        (DatabaseAccess.READ_WRITE, True, False, False),
        (DatabaseAccess.ADMIN, True, True, True),
    ],
)
def test_database_permissions(store: CertificateStore, client: KeyedCertificate, access: DatabaseAccess,
                              admin: bool, write: bool, allowed: bool) -> None:
    register(store, client, SecurityClearance.VALID_USER, {"Orders": access})
    identity = Authenticator(store, None).authenticate(client.certificate)
    assert identity.can_access("orders", require_admin=admin, require_write=write) is allowed
    assert identity.can_access("Other", require_admin=False, require_write=False) is False
    assert identity.visible(["Orders", "Other"]) == ["Orders"]


def test_unsecured_identity_is_everyone() -> None:
    identity = Identity.unsecured()
    assert identity.clearance is SecurityClearance.CLUSTER_ADMIN
    assert identity.visible(["a", "b"]) == ["a", "b"]
