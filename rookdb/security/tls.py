"""The server's TLS context: its certificate, and which client certificates pass the handshake.

Python's ``ssl`` has no verification callback, so the handshake cannot accept every certificate
the way RavenDB's does. Instead it trusts rookdb's authority, the server certificate and every
registered certificate itself (partial chains allowed, so a registered leaf from a foreign CA is
its own anchor), without checking dates: an expired or unknown-but-CA-signed certificate still
connects and is refused per request with RavenDB's 403. Only a certificate that neither rookdb's
authority signed nor anyone registered fails the handshake. Registering adds to the trust at once;
removal needs no TLS change because every request is authorized against the store.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from collections.abc import Iterable
from pathlib import Path

from rookdb.errors import ValidationError
from rookdb.security._files import OWNER_ONLY, write_file
from rookdb.security.certificates import Certificate
from rookdb.security.issuing import KeyedCertificate, load_keyed_certificate

__all__ = ["ServerTls"]

# OpenSSL's X509_V_FLAG_NO_CHECK_TIME, which the ssl module accepts but does not name: dates are
# checked per request so that an expired certificate gets RavenDB's message instead of a TLS alert.
_NO_CHECK_TIME = 0x200000
_MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


class ServerTls:
    """An ``ssl.SSLContext`` for the server that can learn newly registered client certificates."""

    def __init__(self, certificate_path: Path, key_path: Path | None, password: str | None) -> None:
        _check_key_protection(key_path or certificate_path)
        self.identity = load_keyed_certificate(certificate_path, key_path, password)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = _MINIMUM_VERSION
        self.context.verify_mode = ssl.CERT_OPTIONAL
        self.context.verify_flags |= ssl.VERIFY_X509_PARTIAL_CHAIN | _NO_CHECK_TIME
        _load_chain(self.context, self.identity, certificate_path, key_path, password)
        self._trusted: set[str] = set()
        self.trust([self.identity.certificate, *self.identity.chain])

    @property
    def certificate(self) -> Certificate:
        return self.identity.certificate

    def trust(self, certificates: Iterable[Certificate]) -> None:
        """Let these certificates (authorities or registered clients) pass the handshake from now on."""
        for certificate in certificates:
            if certificate.thumbprint not in self._trusted:
                self.context.load_verify_locations(cadata=certificate.der)
                self._trusted.add(certificate.thumbprint)


def _check_key_protection(path: Path) -> None:
    if not path.exists():
        raise ValidationError("Security.Certificate.Path", f"{path} does not exist")
    if path.stat().st_mode & 0o004:
        raise ValidationError("Security.Certificate.Path", f"{path} holds a private key that every user of this "
                                                           f"machine can read: run chmod 600 {path}")


def _load_chain(context: ssl.SSLContext, identity: KeyedCertificate, certificate_path: Path,
                key_path: Path | None, password: str | None) -> None:
    if certificate_path.suffix.lower() not in (".pfx", ".p12"):
        try:
            context.load_cert_chain(certificate_path, key_path, password)
        except ssl.SSLError as error:
            raise ValidationError("Security.Certificate.Path", f"cannot use {certificate_path}: {error}") from error
        return
    # ssl loads only from files: the PKCS#12 contents go through an owner-only file that lives for one call.
    folder = Path(tempfile.mkdtemp(prefix="rookdb-tls-"))
    try:
        pem = folder / "server.pem"
        write_file(pem, identity.pem_with_key(), OWNER_ONLY)
        context.load_cert_chain(pem)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
