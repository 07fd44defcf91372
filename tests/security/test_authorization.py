"""The authorization decision per route, and RavenDB's refusal messages word for word."""

from __future__ import annotations

import pytest

from rookdb.security.authentication import AuthenticationStatus, Authenticator, Identity
from rookdb.security.authorization import BROWSER_CERTIFICATE_HINT, refusal
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
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.store import CertificateStore
from tests.support.certificates import register

PERMISSIONS = {"Reading": DatabaseAccess.READ, "Writing": DatabaseAccess.READ_WRITE, "Owning": DatabaseAccess.ADMIN}


def _identity(store: CertificateStore, client: KeyedCertificate, clearance: SecurityClearance | None) -> Identity:
    if clearance is not None:
        register(store, client, clearance, PERMISSIONS)
    return Authenticator(store, None).authenticate(client.certificate)


@pytest.mark.parametrize(
    ("clearance", "access", "database", "allowed"),
    [
        (SecurityClearance.VALID_USER, READ, "Reading", True),
        (SecurityClearance.VALID_USER, WRITE, "Reading", False),
        (SecurityClearance.VALID_USER, DATABASE_ADMIN, "Reading", False),
        (SecurityClearance.VALID_USER, WRITE, "Writing", True),
        (SecurityClearance.VALID_USER, DATABASE_ADMIN, "Writing", False),
        (SecurityClearance.VALID_USER, DATABASE_ADMIN, "Owning", True),
        (SecurityClearance.VALID_USER, READ, "Elsewhere", False),
        (SecurityClearance.VALID_USER, READ, None, True),
        (SecurityClearance.VALID_USER, OPERATOR, None, False),
        (SecurityClearance.VALID_USER, PUBLIC, None, True),
        (SecurityClearance.VALID_USER, STUDIO_PAGE, None, True),
        (SecurityClearance.OPERATOR, DATABASE_ADMIN, "Elsewhere", True),
        (SecurityClearance.OPERATOR, OPERATOR, None, True),
        (SecurityClearance.OPERATOR, CLUSTER_ADMIN, None, False),
        (SecurityClearance.CLUSTER_ADMIN, CLUSTER_ADMIN, None, True),
        (None, PUBLIC, None, True),
        (None, STUDIO_PAGE, None, False),
        (None, READ, None, False),
    ],
)
def test_decision_table(store: CertificateStore, client: KeyedCertificate, clearance: SecurityClearance | None,
                        access: Access, database: str | None, allowed: bool) -> None:
    identity = _identity(store, client, clearance)
    assert (refusal(access, identity, database, from_client_api=True) is None) is allowed


def test_unsecured_server_allows_everything() -> None:
    assert refusal(CLUSTER_ADMIN, Identity.unsecured(), None, from_client_api=True) is None


def test_messages(store: CertificateStore, client: KeyedCertificate, expired_client: KeyedCertificate) -> None:
    name = f"CN=app(Thumbprint: {client.certificate.thumbprint})"
    nobody = Identity(AuthenticationStatus.NO_CERTIFICATE_PROVIDED)
    assert refusal(READ, nobody, "db", from_client_api=True) == (
        "This server requires client certificate for authentication, but none was provided by the client. "
        "Did you forget to install the certificate?")
    assert refusal(OPERATOR, nobody, None, from_client_api=False) == (
        "This server requires client certificate for authentication, but none was provided by the client. "
        "Did you forget to install the certificate?" + BROWSER_CERTIFICATE_HINT
        + " Operator/ClusterAdmin access is required but not given to this certificate")
    stranger = _identity(store, client, None)
    assert refusal(READ, stranger, "db", from_client_api=True) == (
        f"The supplied client certificate '{name}' is unknown to the server. In order to register your certificate "
        "please contact your system administrator.")
    user = _identity(store, client, SecurityClearance.VALID_USER)
    assert refusal(WRITE, user, "Reading", from_client_api=True) == (
        f"Could not authorize access to Reading using provided client certificate '{name}'.")
    assert refusal(DATABASE_ADMIN, user, "Writing", from_client_api=True) == (
        f"Could not authorize access to Writing using provided client certificate '{name}'. "
        "DatabaseAdmin access is required but not given to this certificate")
    operator = _identity(store, client, SecurityClearance.OPERATOR)
    assert refusal(CLUSTER_ADMIN, operator, None, from_client_api=True) == (
        f"Insufficient security clearance to access the server using provided client certificate '{name}'. "
        "ClusterAdmin access is required but not given to this certificate")
    register(store, expired_client, SecurityClearance.CLUSTER_ADMIN, name="old app")
    expired = Authenticator(store, None).authenticate(expired_client.certificate)
    message = refusal(READ, expired, "db", from_client_api=True)
    assert message is not None and message.startswith(
        f"The supplied client certificate 'CN=old app(Thumbprint: {expired_client.certificate.thumbprint})' "
        f"has expired on {expired_client.certificate.not_after:%A, %d %B %Y}. ")


def test_database_named_in_the_query(store: CertificateStore, client: KeyedCertificate) -> None:
    topology = READ.database_from("name")
    assert topology.database_query == "name"
    user = _identity(store, client, SecurityClearance.VALID_USER)
    assert refusal(topology, user, "Elsewhere", from_client_api=True) is not None
    assert refusal(topology, user, "Reading", from_client_api=True) is None
