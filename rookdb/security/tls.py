"""The server's TLS context: its certificate, and a handshake that lets every client certificate through.

As in RavenDB, the handshake accepts any client certificate (or none) whoever issued it, expired or
not; every request is then authenticated against the certificate store, so an unknown, expired or
deleted certificate gets RavenDB's 403 and a newly registered one works on its next request.
"""

from __future__ import annotations

import shutil
import ssl
import tempfile
from pathlib import Path

from rookdb.errors import ValidationError
from rookdb.security._files import OWNER_ONLY, write_file
from rookdb.security._openssl import accept_any_client_certificate
from rookdb.security.certificates import Certificate
from rookdb.security.issuing import KeyedCertificate, load_keyed_certificate

__all__ = ["ServerTls"]

_MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


class ServerTls:
    """An ``ssl.SSLContext`` for the server, with the key pair it presents to clients."""

    def __init__(self, certificate_path: Path, key_path: Path | None, password: str | None) -> None:
        _check_key_protection(key_path or certificate_path)
        self.identity = load_keyed_certificate(certificate_path, key_path, password)
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.minimum_version = _MINIMUM_VERSION
        _load_chain(self.context, self.identity, certificate_path, key_path, password)
        accept_any_client_certificate(self.context)

    @property
    def certificate(self) -> Certificate:
        return self.identity.certificate


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
