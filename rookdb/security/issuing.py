"""Making certificates: rookdb's private authority, server certificates for named hosts, client certificates.

The authority and server keys are ECDSA P-256 (every TLS stack speaks it, a key takes a
millisecond). Client keys are RSA 2048 written as PKCS#1 (``BEGIN RSA PRIVATE KEY``), as RavenDB
writes them, because the official Node.js client reads only that key format from a PEM file.
Private keys leave this module only as PEM or PKCS#12 bytes for files written owner-only, or
inside the archive a client asked for.
"""

from __future__ import annotations

import io
import ipaddress
import re
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from rookdb.errors import ValidationError
from rookdb.security.certificates import Certificate, read_certificates

__all__ = [
    "DEFAULT_AUTHORITY_LIFETIME",
    "DEFAULT_CLIENT_LIFETIME",
    "DEFAULT_SERVER_LIFETIME",
    "LOOPBACK_HOSTS",
    "KeyedCertificate",
    "client_certificate_archive",
    "create_authority",
    "issue_client_certificate",
    "issue_server_certificate",
    "load_keyed_certificate",
]

DEFAULT_AUTHORITY_LIFETIME = timedelta(days=3650)
DEFAULT_SERVER_LIFETIME = timedelta(days=730)
DEFAULT_CLIENT_LIFETIME = timedelta(days=5 * 365)  # RavenDB's default for generated client certificates
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
_BACKDATE = timedelta(minutes=5)  # tolerate a client clock slightly behind ours
_ARCHIVE_FILE_MODE = 0o600 << 16  # zip external attributes keep Unix permissions in the high 16 bits
_CLIENT_KEY_BITS = 2048
_RSA_PUBLIC_EXPONENT = 65537

PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


@dataclass(frozen=True)
class KeyedCertificate:
    """A certificate with its private key: an authority that signs, a server's identity or a new client's."""

    certificate: Certificate
    key: PrivateKey
    chain: tuple[Certificate, ...] = ()

    def key_pem(self, password: str | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption())
        key_format = (serialization.PrivateFormat.TraditionalOpenSSL if isinstance(self.key, rsa.RSAPrivateKey)
                      else serialization.PrivateFormat.PKCS8)
        return self.key.private_bytes(serialization.Encoding.PEM, key_format, encryption)

    def certificate_pem(self) -> bytes:
        return "".join(item.pem for item in (self.certificate, *self.chain)).encode("ascii")

    def pem_with_key(self) -> bytes:
        """Certificate (and chain) then key in one PEM: what ``certificate_pem_path`` and ``--certificate`` take."""
        return self.certificate_pem() + self.key_pem()

    def pkcs12(self, name: str, password: str | None = None) -> bytes:
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password.encode()) if password else serialization.NoEncryption())
        return pkcs12.serialize_key_and_certificates(
            name.encode(), self.key, self.certificate.parsed, [item.parsed for item in self.chain] or None,
            encryption)


def create_authority(name: str = "rookdb certificate authority", *, now: datetime | None = None,
                     lifetime: timedelta = DEFAULT_AUTHORITY_LIFETIME) -> KeyedCertificate:
    """A private certificate authority that signs the server's and the clients' certificates."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = _name(name)
    builder = (_builder(subject, subject, key, now, lifetime)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                            content_commitment=False, key_encipherment=False,
                                            data_encipherment=False, key_agreement=False, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False))
    return KeyedCertificate(_sign(builder, key), key)


def issue_server_certificate(authority: KeyedCertificate, hosts: Iterable[str], *, now: datetime | None = None,
                             lifetime: timedelta = DEFAULT_SERVER_LIFETIME) -> KeyedCertificate:
    """A TLS server certificate for ``hosts`` (names or IP addresses) and loopback, signed by ``authority``."""
    names = list(dict.fromkeys([*hosts, *LOOPBACK_HOSTS]))
    key = ec.generate_private_key(ec.SECP256R1())
    alternatives = [_alternative_name(host) for host in names]
    builder = (_builder(_name(names[0]), authority.certificate.parsed.subject, key, now, lifetime)
               .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
               .add_extension(_authority_key_id(authority), critical=False))
    return KeyedCertificate(_sign(builder, authority.key), key, (authority.certificate,))


def issue_client_certificate(name: str, authority: KeyedCertificate | None, *, now: datetime | None = None,
                             not_after: datetime | None = None) -> KeyedCertificate:
    """A client certificate named ``name``: signed by ``authority``, or self-signed when there is none."""
    key = rsa.generate_private_key(_RSA_PUBLIC_EXPONENT, _CLIENT_KEY_BITS)
    start = now or datetime.now(UTC)
    lifetime = (not_after - start) if not_after is not None else DEFAULT_CLIENT_LIFETIME
    subject = _name(name)
    issuer = authority.certificate.parsed.subject if authority is not None else subject
    builder = (_builder(subject, issuer, key, start, lifetime)
               .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
               .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False))
    if authority is not None:
        builder = builder.add_extension(_authority_key_id(authority), critical=False)
    return KeyedCertificate(_sign(builder, authority.key if authority is not None else key), key)


def load_keyed_certificate(path: Path, key_path: Path | None = None, password: str | None = None
                           ) -> KeyedCertificate:
    """Read a certificate and its key: one PEM file (certificate, chain, key), PEM plus a key file, or PKCS#12."""
    data = path.read_bytes()
    secret = password.encode() if password else None
    if path.suffix.lower() in (".pfx", ".p12"):
        try:
            key, leaf, extra = pkcs12.load_key_and_certificates(data, secret)
        except ValueError as error:
            raise ValidationError("Security.Certificate.Path", f"cannot read PKCS#12 file {path}: {error}") from error
        if key is None or leaf is None:
            raise ValidationError("Security.Certificate.Path", f"{path} holds no certificate with its private key")
        chain = tuple(Certificate(item.public_bytes(serialization.Encoding.DER)) for item in extra)
        return KeyedCertificate(Certificate(leaf.public_bytes(serialization.Encoding.DER)), _signing_key(key, path),
                                chain)
    certificates = read_certificates(data)
    key_data = key_path.read_bytes() if key_path is not None else data
    try:
        key = serialization.load_pem_private_key(key_data, secret)
    except (ValueError, TypeError) as error:
        where = key_path or path
        raise ValidationError("Security.Certificate.KeyPath", f"cannot read the private key in {where}: {error}"
                              ) from error
    return KeyedCertificate(certificates[0], _signing_key(key, key_path or path), tuple(certificates[1:]))


def client_certificate_archive(name: str, issued: KeyedCertificate, password: str | None) -> bytes:
    """The zip ``CreateClientCertificateOperation`` returns: ``<name>.pfx``, ``<name>.crt`` and ``<name>.key``."""
    stem = re.sub(r"[^A-Za-z0-9._ -]+", "_", name).strip() or "certificate"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for suffix, content in ((".pfx", issued.pkcs12(name, password)), (".crt", issued.certificate_pem()),
                                (".key", issued.key_pem(password))):
            entry = zipfile.ZipInfo(stem + suffix, date_time=datetime.now(UTC).timetuple()[:6])
            entry.external_attr = _ARCHIVE_FILE_MODE
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, content)
    return buffer.getvalue()


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: x509.Name, issuer: x509.Name, key: PrivateKey, now: datetime | None,
             lifetime: timedelta) -> x509.CertificateBuilder:
    start = now or datetime.now(UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(min(start, start + lifetime) - _BACKDATE)
            .not_valid_after(start + lifetime))


def _sign(builder: x509.CertificateBuilder, key: PrivateKey) -> Certificate:
    return Certificate(builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


def _authority_key_id(authority: KeyedCertificate) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier.from_issuer_public_key(authority.key.public_key())


def _alternative_name(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def _signing_key(key: object, where: Path) -> PrivateKey:
    if not isinstance(key, (ec.EllipticCurvePrivateKey, rsa.RSAPrivateKey)):
        raise ValidationError("Security.Certificate.Path", f"{where}: only ECDSA and RSA keys are supported")
    return key
