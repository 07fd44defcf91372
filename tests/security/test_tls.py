"""The TLS context: who passes the handshake (a real TLS 1.3 handshake through memory buffers)."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import pytest

from rookdb.errors import ValidationError
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.tls import ServerTls


def _files(folder: Path, name: str, keyed: KeyedCertificate) -> Path:
    path = folder / f"{name}.pem"
    path.write_bytes(keyed.pem_with_key())
    path.chmod(0o600)
    return path


def _handshake(server: ssl.SSLContext, client: ssl.SSLContext) -> bytes | None:
    """Run a handshake plus one byte each way; return the client certificate (DER) the server saw."""
    server_in, server_out, client_in, client_out = (ssl.MemoryBIO() for _ in range(4))
    server_side = server.wrap_bio(server_in, server_out, server_side=True)
    client_side = client.wrap_bio(client_in, client_out, server_hostname="127.0.0.1")
    done: set[str] = set()
    for _ in range(20):
        for name, side, out, peer_in in (("client", client_side, client_out, server_in),
                                         ("server", server_side, server_out, client_in)):
            try:
                side.do_handshake()
                side.write(b"x")
                side.read(1)
                done.add(name)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
                pass
            peer_in.write(out.read())
        if done == {"client", "server"}:
            return server_side.getpeercert(binary_form=True)
    raise AssertionError("handshake did not finish")


@pytest.fixture
def server_tls(tmp_path: Path, server_identity: KeyedCertificate, authority: KeyedCertificate) -> ServerTls:
    tls = ServerTls(_files(tmp_path, "server", server_identity), None, None)
    tls.trust([authority.certificate])
    return tls


def _client_context(tmp_path: Path, authority: KeyedCertificate, keyed: KeyedCertificate | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=authority.certificate.pem)
    if keyed is not None:
        context.load_cert_chain(_files(tmp_path, "client", keyed))
    return context


def test_no_certificate_and_authority_signed_ones_pass(tmp_path: Path, server_tls: ServerTls,
                                                       authority: KeyedCertificate, client: KeyedCertificate,
                                                       expired_client: KeyedCertificate) -> None:
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, None)) is None
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, client)) == client.certificate.der
    # Dates are checked per request, so an expired certificate connects and gets RavenDB's message.
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, expired_client)) == (
        expired_client.certificate.der)


def test_foreign_certificate_passes_once_trusted(tmp_path: Path, server_tls: ServerTls, authority: KeyedCertificate,
                                                 foreign_client: KeyedCertificate) -> None:
    with pytest.raises(ssl.SSLError):
        _handshake(server_tls.context, _client_context(tmp_path, authority, foreign_client))
    server_tls.trust([foreign_client.certificate])
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, foreign_client)) == (
        foreign_client.certificate.der)


def test_world_readable_key_is_refused(tmp_path: Path, server_identity: KeyedCertificate) -> None:
    path = _files(tmp_path, "server", server_identity)
    path.chmod(0o644)
    with pytest.raises(ValidationError, match="chmod 600"):
        ServerTls(path, None, None)


def test_pkcs12_server_certificate(tmp_path: Path, server_identity: KeyedCertificate,
                                   authority: KeyedCertificate) -> None:
    pfx = tmp_path / "server.pfx"
    pfx.write_bytes(server_identity.pkcs12("server", "pw"))
    pfx.chmod(0o600)
    before = set(Path(tempfile.gettempdir()).glob("rookdb-tls-*"))
    tls = ServerTls(pfx, None, "pw")
    assert set(Path(tempfile.gettempdir()).glob("rookdb-tls-*")) == before  # the key's PEM copy is gone
    assert tls.certificate == server_identity.certificate
    assert _handshake(tls.context, _client_context(tmp_path, authority, None)) is None
