"""X.509 certificates as RavenDB identifies them: a SHA-1 thumbprint, a subject, a validity window."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from rookdb.errors import ValidationError

__all__ = ["Certificate", "read_certificates"]

_PEM_BEGIN = b"-----BEGIN CERTIFICATE-----"


@dataclass(frozen=True)
class Certificate:
    """One certificate, parsed once; equality is by its DER bytes."""

    der: bytes

    @cached_property
    def parsed(self) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der)

    @cached_property
    def thumbprint(self) -> str:
        """Upper-case hex SHA-1 of the DER bytes, as .NET's ``X509Certificate2.Thumbprint``."""
        return hashlib.sha1(self.der, usedforsecurity=False).hexdigest().upper()

    @cached_property
    def subject(self) -> str:
        """The subject as .NET prints it (``CN=admin, O=rookdb``)."""
        return ", ".join(part.rfc4514_string() for part in reversed(self.parsed.subject.rdns))

    @cached_property
    def not_before(self) -> datetime:
        return self.parsed.not_valid_before_utc

    @cached_property
    def not_after(self) -> datetime:
        return self.parsed.not_valid_after_utc

    @cached_property
    def pinning_hash(self) -> str:
        """Base64 SHA-256 of the public key info (RavenDB's ``PublicKeyPinningHash``)."""
        spki = self.parsed.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return base64.b64encode(hashlib.sha256(spki).digest()).decode("ascii")

    @property
    def base64(self) -> str:
        return base64.b64encode(self.der).decode("ascii")

    @property
    def pem(self) -> str:
        return self.parsed.public_bytes(serialization.Encoding.PEM).decode("ascii")

    @classmethod
    def from_der(cls, der: bytes) -> Certificate:
        certificate = cls(bytes(der))
        try:
            _ = certificate.parsed
        except ValueError as error:
            raise ValidationError("Certificate", f"is not an X.509 certificate: {error}") from error
        return certificate

    @classmethod
    def from_pem(cls, text: str | bytes) -> Certificate:
        found = read_certificates(text.encode("ascii") if isinstance(text, str) else text)
        if not found:
            raise ValidationError("Certificate", "no PEM certificate found")
        return found[0]


def read_certificates(data: bytes) -> list[Certificate]:
    """Every certificate in ``data``: PEM blocks (a chain, possibly beside a key) or one DER certificate."""
    if _PEM_BEGIN in data:
        try:
            return [Certificate(item.public_bytes(serialization.Encoding.DER))
                    for item in x509.load_pem_x509_certificates(data)]
        except ValueError as error:
            raise ValidationError("Certificate", f"is not a PEM certificate: {error}") from error
    return [Certificate.from_der(data)]
