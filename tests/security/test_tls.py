"""The TLS context: every client certificate passes the handshake (real TLS 1.3 handshakes through memory buffers)."""

from __future__ import annotations

import ssl
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rookdb.errors import RookError, ValidationError
from rookdb.security.issuing import KeyedCertificate, issue_client_certificate
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
def server_tls(tmp_path: Path, server_identity: KeyedCertificate) -> ServerTls:
    return ServerTls(_files(tmp_path, "server", server_identity), None, None)


def _client_context(tmp_path: Path, authority: KeyedCertificate, keyed: KeyedCertificate | None) -> ssl.SSLContext:
    context = ssl.create_default_context(cadata=authority.certificate.pem)
    if keyed is not None:
        context.load_cert_chain(_files(tmp_path, "client", keyed))
    return context


def _expired_foreign() -> KeyedCertificate:
    now = datetime.now(UTC)
    return issue_client_certificate("old foreign", None, now=now - timedelta(days=30),
                                    not_after=now - timedelta(days=1))


def test_no_certificate_passes(tmp_path: Path, server_tls: ServerTls, authority: KeyedCertificate) -> None:
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, None)) is None


@pytest.mark.parametrize("kind", ["client", "expired_client", "foreign_client", "expired foreign",
                                  "server_identity", "authority"])
def test_every_certificate_passes_and_the_server_sees_it(request: pytest.FixtureRequest, tmp_path: Path,
                                                         server_tls: ServerTls, authority: KeyedCertificate,
                                                         kind: str) -> None:
    """Signed by rookdb's authority or self-signed by anyone, expired, or made for another purpose (a server
    certificate, an authority): the request decides, as in RavenDB."""
    keyed: KeyedCertificate = _expired_foreign() if kind == "expired foreign" else request.getfixturevalue(kind)
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, keyed)) == keyed.certificate.der


def test_later_context_settings_keep_the_acceptance(tmp_path: Path, server_tls: ServerTls,
                                                    authority: KeyedCertificate,
                                                    foreign_client: KeyedCertificate) -> None:
    """CPython keeps OpenSSL's certificate check callback whatever is set on the context afterwards."""
    server_tls.context.verify_mode = ssl.CERT_REQUIRED
    server_tls.context.verify_flags |= ssl.VERIFY_X509_STRICT
    server_tls.context.load_verify_locations(cadata=authority.certificate.pem)
    assert _handshake(server_tls.context, _client_context(tmp_path, authority, foreign_client)) == (
        foreign_client.certificate.der)


def test_startup_fails_clearly_when_libssl_is_not_the_one_ssl_uses(tmp_path: Path, server_identity: KeyedCertificate,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ssl, "OPENSSL_VERSION_NUMBER", 0x10001000)
    with pytest.raises(RookError, match="cannot let every client certificate through the TLS handshake"):
        ServerTls(_files(tmp_path, "server", server_identity), None, None)


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
