"""Certificates identified as .NET identifies them: thumbprint, subject, pinning hash."""

from __future__ import annotations

import base64
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization

from rookdb.errors import ValidationError
from rookdb.security.certificates import Certificate, read_certificates
from rookdb.security.issuing import KeyedCertificate


def test_thumbprint_is_upper_case_sha1_of_der(client: KeyedCertificate) -> None:
    certificate = client.certificate
    assert certificate.thumbprint == hashlib.sha1(certificate.der).hexdigest().upper()
    assert len(certificate.thumbprint) == 40


def test_subject_and_validity(client: KeyedCertificate) -> None:
    assert client.certificate.subject == "CN=app"
    assert client.certificate.not_before < client.certificate.not_after


def test_pinning_hash_is_sha256_of_the_public_key_info(client: KeyedCertificate) -> None:
    spki = client.key.public_key().public_bytes(serialization.Encoding.DER,
                                                serialization.PublicFormat.SubjectPublicKeyInfo)
    assert client.certificate.pinning_hash == base64.b64encode(hashlib.sha256(spki).digest()).decode()


def test_pem_round_trip_and_chain(server_identity: KeyedCertificate) -> None:
    chain = read_certificates(server_identity.pem_with_key())
    assert [item.thumbprint for item in chain] == [server_identity.certificate.thumbprint,
                                                   server_identity.chain[0].thumbprint]
    assert Certificate.from_pem(server_identity.certificate.pem) == server_identity.certificate
    assert read_certificates(server_identity.certificate.der) == [server_identity.certificate]


@pytest.mark.parametrize(
    "data", [b"not a certificate", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"])
def test_garbage_is_a_validation_error(data: bytes) -> None:
    with pytest.raises(ValidationError) as raised:
        read_certificates(data)
    assert raised.value.field == "Certificate"
