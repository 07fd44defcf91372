"""The audit log: who, which certificate, which database, allowed or refused; certificate changes."""

from __future__ import annotations

from pathlib import Path

from rookdb.security.audit import AuditLog
from rookdb.security.authentication import AuthenticationStatus, Authenticator, Identity
from rookdb.security.clearance import SecurityClearance
from rookdb.security.issuing import KeyedCertificate
from rookdb.security.store import CertificateStore
from tests.support.certificates import register


def test_lines(tmp_path: Path, store: CertificateStore, client: KeyedCertificate) -> None:
    register(store, client, SecurityClearance.VALID_USER, name="orders app")
    identity = Authenticator(store, None).authenticate(client.certificate)
    log = AuditLog(tmp_path / "logs")
    for _ in range(3):
        log.access(identity, method="GET", path="/databases/db/docs", database="db", client="127.0.0.1:5000",
                   refusal=None)
    log.access(identity, method="PUT", path="/databases/db/docs", database="db", client="127.0.0.1:5000",
               refusal="Could not authorize access to db\nusing \"it\"")
    log.access(Identity(AuthenticationStatus.NO_CERTIFICATE_PROVIDED), method="GET", path="/databases",
               database=None, client="127.0.0.1:6000", refusal="none")
    log.certificate_change("DELETE", identity, name="old", thumbprint="ABC", detail="clearance=Operator")
    log.close()
    lines = (tmp_path / "logs" / "audit.log").read_text().splitlines()
    thumbprint = client.certificate.thumbprint
    assert len(lines) == 4, lines
    assert lines[0].split(" ", 1)[1] == (
        f'ALLOWED GET /databases/db/docs database=db certificate={thumbprint} name="orders app" '
        "clearance=ValidUser status=Allowed client=127.0.0.1:5000")
    assert lines[1].endswith("reason=\"Could not authorize access to db using 'it'\"")
    assert " REFUSED GET /databases database=- certificate=- status=NoCertificateProvided " in lines[2]
    assert 'CERTIFICATE DELETE name="old" thumbprint=ABC clearance=Operator by certificate=' in lines[3]
