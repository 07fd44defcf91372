"""Certificate management rules: who may create, register, edit or delete which certificate."""

from __future__ import annotations

import base64
import io
import zipfile

import pytest

from rookdb.errors import BadRequestError, InsufficientClearanceError, ValidationError
from rookdb.security.administration import SERVER_CERTIFICATE_NAME, CertificateAdministration
from rookdb.security.authentication import Authenticator, Identity
from rookdb.security.certificates import Certificate
from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.security.definitions import CertificateRequest
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.store import CertificateStore
from tests.support.certificates import register


def _administration(store: CertificateStore, authority: KeyedCertificate | None,
                    server_identity: KeyedCertificate | None) -> CertificateAdministration:
    server = server_identity.certificate if server_identity is not None else None
    return CertificateAdministration(store, authority=authority, server=server, audit=None)


def _request(name: str, clearance: str = "ValidUser", **extra: object) -> CertificateRequest:
    return CertificateRequest.from_json({"Name": name, "SecurityClearance": clearance,
                                         "Permissions": {"Orders": "Read"}, **extra})


def _caller(store: CertificateStore, keyed: KeyedCertificate, clearance: SecurityClearance) -> Identity:
    register(store, keyed, clearance, name="caller")
    return Authenticator(store, None).authenticate(keyed.certificate)


def test_create_registers_and_returns_the_archive(store: CertificateStore, authority: KeyedCertificate,
                                                  server_identity: KeyedCertificate) -> None:
    administration = _administration(store, authority, server_identity)
    archive = zipfile.ZipFile(io.BytesIO(administration.create(_request("reader"), Identity.unsecured())))
    issued = Certificate.from_pem(archive.read("reader.crt"))
    issued.parsed.verify_directly_issued_by(authority.certificate.parsed)
    definition = store.get(issued.thumbprint)
    assert definition is not None and definition.permissions == {"Orders": DatabaseAccess.READ}


def test_create_without_authority_is_self_signed(store: CertificateStore, server_identity: KeyedCertificate) -> None:
    archive = zipfile.ZipFile(io.BytesIO(
        _administration(store, None, server_identity).create(_request("app"), Identity.unsecured())))
    issued = Certificate.from_pem(archive.read("app.crt"))
    issued.parsed.verify_directly_issued_by(issued.parsed)


def test_create_needs_a_server_certificate(store: CertificateStore) -> None:
    with pytest.raises(BadRequestError, match="the server certificate is not loaded"):
        _administration(store, None, None).create(_request("app"), Identity.unsecured())


def test_operator_cannot_reach_above_itself(store: CertificateStore, authority: KeyedCertificate,
                                            server_identity: KeyedCertificate, client: KeyedCertificate,
                                            foreign_client: KeyedCertificate) -> None:
    administration = _administration(store, authority, server_identity)
    operator = _caller(store, client, SecurityClearance.OPERATOR)
    with pytest.raises(InsufficientClearanceError, match="lower clearance: Operator"):
        administration.create(_request("boss", "ClusterAdmin"), operator)
    foreign = foreign_client.certificate.base64
    with pytest.raises(InsufficientClearanceError):
        administration.put(_request("boss", "ClusterNode", Certificate=foreign), operator)
    register(store, foreign_client, SecurityClearance.CLUSTER_ADMIN, name="admin")
    with pytest.raises(InsufficientClearanceError):
        administration.delete(foreign_client.certificate.thumbprint, operator)
    with pytest.raises(InsufficientClearanceError):
        administration.edit(_request("admin", Thumbprint=foreign_client.certificate.thumbprint), operator)
    with pytest.raises(BadRequestError, match="current client certificate"):
        administration.delete(client.certificate.thumbprint, operator)


def test_put_edit_delete(store: CertificateStore, server_identity: KeyedCertificate,
                         foreign_client: KeyedCertificate) -> None:
    administration = _administration(store, None, server_identity)
    admin = Identity.unsecured()
    thumbprint = foreign_client.certificate.thumbprint
    administration.put(_request("foreign", Certificate=foreign_client.certificate.base64), admin)
    administration.edit(_request("renamed", "Operator", Thumbprint=thumbprint.lower(), Disabled=True), admin)
    definition = store.get(thumbprint)
    assert definition is not None
    assert (definition.name, definition.clearance, definition.disabled) == ("renamed", SecurityClearance.OPERATOR,
                                                                            True)
    listed = administration.list(start=0, page_size=10)
    assert [item["Name"] for item in listed] == [SERVER_CERTIFICATE_NAME, "renamed"]
    assert administration.get(thumbprint, metadata_only=True) == definition.to_json(metadata_only=True)
    administration.delete(thumbprint, admin)
    assert administration.get(thumbprint) is None
    administration.delete(thumbprint, admin)  # deleting an unknown thumbprint changes nothing, as in RavenDB


@pytest.mark.parametrize(
    ("certificate", "message"),
    [(None, "mandatory"), ("!!!", "Base64"), (base64.b64encode(b"junk").decode(), "Unable to load")],
)
def test_put_refuses_bad_certificates(store: CertificateStore, certificate: str | None, message: str) -> None:
    extra = {} if certificate is None else {"Certificate": certificate}
    with pytest.raises(ValidationError, match=message):
        _administration(store, None, None).put(_request("x", **extra), Identity.unsecured())


def test_put_accepts_pkcs12_and_refuses_the_server_certificate(store: CertificateStore,
                                                               server_identity: KeyedCertificate,
                                                               client: KeyedCertificate) -> None:
    administration = _administration(store, None, server_identity)
    pfx = base64.b64encode(client.pkcs12("app", "pw")).decode()
    administration.put(_request("app", Certificate=pfx, Password="pw"), Identity.unsecured())
    assert store.get(client.certificate.thumbprint) is not None
    with pytest.raises(BadRequestError, match="same server certificate"):
        administration.put(_request("srv", Certificate=server_identity.certificate.base64), Identity.unsecured())


def test_edit_unknown_is_refused(store: CertificateStore) -> None:
    with pytest.raises(BadRequestError, match="doesn't exist"):
        _administration(store, None, None).edit(_request("x", Thumbprint="AB"), Identity.unsecured())
