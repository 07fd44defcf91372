"""Making certificates: the authority, server certificates for named hosts, clients, the client archive."""

from __future__ import annotations

import io
import ipaddress
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, load_pem_private_key, pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID

from rookdb.errors import ValidationError
from rookdb.security.issuing import (
    KeyedCertificate,
    client_certificate_archive,
    issue_client_certificate,
    load_keyed_certificate,
)


def test_authority_is_a_ca(authority: KeyedCertificate) -> None:
    constraints = authority.certificate.parsed.extensions.get_extension_for_class(x509.BasicConstraints).value
    assert constraints.ca is True


def test_server_certificate_names_hosts_and_loopback(authority: KeyedCertificate,
                                                      server_identity: KeyedCertificate) -> None:
    parsed = server_identity.certificate.parsed
    names = parsed.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert names.get_values_for_type(x509.DNSName) == ["db.example.test", "localhost"]
    assert names.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    usage = parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.SERVER_AUTH in usage
    parsed.verify_directly_issued_by(authority.certificate.parsed)
    assert server_identity.chain == (authority.certificate,)


def test_client_certificates_signed_or_self_signed(authority: KeyedCertificate, client: KeyedCertificate,
                                                   foreign_client: KeyedCertificate) -> None:
    client.certificate.parsed.verify_directly_issued_by(authority.certificate.parsed)
    foreign_client.certificate.parsed.verify_directly_issued_by(foreign_client.certificate.parsed)
    usage = client.certificate.parsed.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert ExtendedKeyUsageOID.CLIENT_AUTH in usage


def test_client_certificate_lifetime(authority: KeyedCertificate) -> None:
    not_after = datetime.now(UTC).replace(microsecond=0) + timedelta(days=3)
    issued = issue_client_certificate("short", authority, not_after=not_after)
    assert issued.certificate.not_after == not_after


@pytest.mark.parametrize("password", [None, "s3cret"])
def test_archive_holds_pfx_crt_and_key(client: KeyedCertificate, password: str | None) -> None:
    archive = zipfile.ZipFile(io.BytesIO(client_certificate_archive("my app", client, password)))
    assert sorted(archive.namelist()) == ["my app.crt", "my app.key", "my app.pfx"]
    assert all(info.external_attr >> 16 == 0o600 for info in archive.infolist())
    key, certificate, _ = pkcs12.load_key_and_certificates(
        archive.read("my app.pfx"), password.encode() if password else None)
    assert certificate is not None and certificate.public_bytes(Encoding.DER) == client.certificate.der
    assert key is not None and key.public_key() == client.key.public_key()
    assert archive.read("my app.crt").decode() == client.certificate.pem
    loaded = load_pem_private_key(archive.read("my app.key"), password.encode() if password else None)
    assert loaded.public_key() == client.key.public_key()


def test_load_pem_with_key_and_pkcs12(tmp_path: Path, server_identity: KeyedCertificate) -> None:
    pem = tmp_path / "server.pem"
    pem.write_bytes(server_identity.pem_with_key())
    assert load_keyed_certificate(pem).certificate == server_identity.certificate
    split_certificate, split_key = tmp_path / "cert.pem", tmp_path / "cert.key"
    split_certificate.write_bytes(server_identity.certificate_pem())
    split_key.write_bytes(server_identity.key_pem("pw"))
    loaded = load_keyed_certificate(split_certificate, split_key, "pw")
    assert loaded.chain == server_identity.chain
    pfx = tmp_path / "server.pfx"
    pfx.write_bytes(server_identity.pkcs12("server", "pw"))
    assert load_keyed_certificate(pfx, None, "pw").certificate == server_identity.certificate


def test_wrong_password_names_the_setting(tmp_path: Path, server_identity: KeyedCertificate) -> None:
    pfx = tmp_path / "server.pfx"
    pfx.write_bytes(server_identity.pkcs12("server", "pw"))
    with pytest.raises(ValidationError) as raised:
        load_keyed_certificate(pfx, None, "wrong")
    assert raised.value.field == "Security.Certificate.Path"
