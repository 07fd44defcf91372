"""Secured mode through the official Python and Node.js clients over real TLS on loopback.

One server per module, set up as a user sets it up (``rookdb certs init``); certificates for the
tests are issued through ``CreateClientCertificateOperation`` with the admin certificate.
"""

from __future__ import annotations

import base64
import io
import itertools
import json
import os
import shutil
import ssl
import subprocess
import zipfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from ravendb import DocumentStore
from ravendb.documents.operations.ai.ai_connection_string import AiConnectionString, AiModelType
from ravendb.documents.operations.ai.embedded_settings import EmbeddedSettings
from ravendb.documents.operations.connection_string.get_connection_string_operation import (
    GetConnectionStringsOperation,
)
from ravendb.documents.operations.connection_string.put_connection_string_operation import (
    PutConnectionStringOperation,
)
from ravendb.exceptions.exceptions import AuthorizationException
from ravendb.serverwide.database_record import DatabaseRecord
from ravendb.serverwide.operations.certificates import (
    CreateClientCertificateOperation,
    DatabaseAccess,
    DeleteCertificateOperation,
    EditClientCertificateOperation,
    GetCertificateOperation,
    GetCertificatesOperation,
    PutClientCertificateOperation,
    SecurityClearance,
)
from ravendb.serverwide.operations.common import CreateDatabaseOperation
from ravendb.serverwide.server_operation_executor import ConnectionStringType
from rich.console import Console

from rookdb.errors import RookError
from rookdb.security import SecurityFiles, initialize
from rookdb.security.issuing import KeyedCertificate, issue_client_certificate
from rookdb.server.runner import BackgroundServer
from rookdb.tasks_watch import watch

pytestmark = pytest.mark.slow

_names = itertools.count(1)
NODE_CLIENT = Path(__file__).resolve().parents[1] / "node"
NODE_TIMEOUT_SECONDS = 60


class Secured:
    """A secured server with its files, and a factory of official-client stores holding a certificate."""

    def __init__(self, data_dir: Path, folder: Path) -> None:
        self.data_dir = data_dir
        self.folder = folder
        self.files = SecurityFiles.under(data_dir)
        self.server = BackgroundServer(data_dir).start()
        self.stores: list[DocumentStore] = []
        self.admin = self.store("Orders", self.files.admin)

    def store(self, database: str, certificate: Path | None) -> DocumentStore:
        store = DocumentStore([self.server.url], database)
        if certificate is not None:
            store.certificate_pem_path = str(certificate)
        store.trust_store_path = str(self.files.authority)
        store.initialize()
        self.stores.append(store)
        return store

    def issue(self, clearance: SecurityClearance, permissions: dict[str, DatabaseAccess]) -> Path:
        """A new client certificate from the server (the zip the client gets), as one PEM file."""
        name = f"app{next(_names)}"
        raw = self.admin.maintenance.server.send(CreateClientCertificateOperation(name, permissions, clearance))
        archive = zipfile.ZipFile(io.BytesIO(raw.raw_data))
        path = self.folder / f"{name}.pem"
        path.write_bytes(archive.read(f"{name}.crt") + archive.read(f"{name}.key"))
        return path

    def http(self, certificate: Path | None) -> httpx.Client:
        """A plain HTTPS client holding ``certificate``, for what the official client cannot report."""
        context = ssl.create_default_context(cafile=str(self.files.authority))
        if certificate is not None:
            context.load_cert_chain(str(certificate))
        return httpx.Client(base_url=self.server.url, verify=context, timeout=30)

    def write_pem(self, keyed: KeyedCertificate, name: str) -> Path:
        path = self.folder / f"{name}.pem"
        path.write_bytes(keyed.pem_with_key())
        return path

    def close(self) -> None:
        for store in self.stores:
            store.close()
        self.server.stop()


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Secured]:
    data_dir = tmp_path_factory.mktemp("secured-data")
    initialize(data_dir, ["db.example.test"])
    running = Secured(data_dir, tmp_path_factory.mktemp("client-certificates"))
    for name in ("Orders", "Invoices"):
        running.admin.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord(name)))
    with running.admin.open_session() as session:
        session.store({"Total": 10}, "orders/1")
        session.save_changes()
    yield running
    running.close()


Refused = Callable[[], object]


def refused(action: Refused, *fragments: str) -> str:
    with pytest.raises(AuthorizationException) as raised:
        action()
    message = str(raised.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def _load(store: DocumentStore, key: str = "orders/1") -> object:
    with store.open_session() as session:
        return session.load(key)


def _save(store: DocumentStore, key: str) -> None:
    with store.open_session() as session:
        session.store({"Total": 1}, key)
        session.save_changes()


def server_refusal(client: httpx.Client, method: str, path: str, body: object = None) -> str:
    """A server-wide operation's 403, read over HTTPS: the Python client (7.2.7) cannot build its
    ``AuthorizationException`` when the request names no database and fails with a TypeError."""
    response = client.request(method, path, json=body)
    assert response.status_code == 403, response.text
    assert response.json()["Type"] == "InvalidAuth"
    message: str = response.json()["Message"]
    return message


def _embedded() -> AiConnectionString:
    return AiConnectionString("Local", "local", model_type=AiModelType.TEXT_EMBEDDINGS,
                              embedded_settings=EmbeddedSettings())


def test_admin_certificate_does_everything(secured: Secured) -> None:
    admin = secured.admin
    _save(admin, "orders/admin")
    with admin.open_session() as session:
        assert len(list(session.advanced.raw_query("from @all_docs where Total = 1", dict))) == 1
    admin.maintenance.send(PutConnectionStringOperation(_embedded()))
    found = admin.maintenance.send(GetConnectionStringsOperation("Local", ConnectionStringType.AI))
    assert "Local" in found.ai_connection_strings
    listed = admin.maintenance.server.send(GetCertificatesOperation(0, 100))
    assert {"Server Certificate", "admin"} <= {certificate.name for certificate in listed}


def test_read_certificate_loads_and_queries_but_cannot_write(secured: Secured) -> None:
    pem = secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.READ})
    reader = secured.store("Orders", pem)
    assert _load(reader) is not None
    with reader.open_session() as session:
        assert [order["Total"] for order in session.advanced.raw_query("from @all_docs where Total = 10", dict)] \
            == [10]
    refused(lambda: _save(reader, "orders/2"), "Forbidden access to Orders@",
            "Could not authorize access to Orders using provided client certificate 'CN=app")
    refused(lambda: reader.maintenance.send(PutConnectionStringOperation(_embedded())),
            "DatabaseAdmin access is required but not given to this certificate")
    refused(lambda: reader.maintenance.send(GetConnectionStringsOperation("Local", ConnectionStringType.AI)))
    with secured.http(pem) as client:
        message = server_refusal(client, "PUT", "/admin/databases?name=Mine", {"DatabaseName": "Mine"})
    assert message.endswith("Operator/ClusterAdmin access is required but not given to this certificate")


def test_read_write_and_database_admin(secured: Secured) -> None:
    writer = secured.store("Orders", secured.issue(SecurityClearance.VALID_USER,
                                                   {"Orders": DatabaseAccess.READ_WRITE}))
    _save(writer, "orders/written")
    refused(lambda: writer.maintenance.send(PutConnectionStringOperation(_embedded())))
    owner = secured.store("Orders", secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.ADMIN}))
    owner.maintenance.send(PutConnectionStringOperation(_embedded()))


def test_certificate_for_one_database_is_refused_on_another(secured: Secured) -> None:
    pem = secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.ADMIN})
    refused(lambda: _load(secured.store("Invoices", pem)),
            "Could not authorize access to Invoices using provided client certificate")
    with secured.http(pem) as client:
        assert client.get("/databases", params={"namesOnly": "true"}).json() == {"Databases": ["Orders"]}


def test_no_certificate_is_refused(secured: Secured) -> None:
    refused(lambda: _load(secured.store("Orders", None)), "a certificate is required",
            "This server requires client certificate for authentication, but none was provided by the client.")
    with secured.http(None) as client:
        assert "none was provided" in server_refusal(client, "GET", "/admin/certificates")


def test_expired_certificate_is_refused(secured: Secured) -> None:
    authority = secured.files.load_authority()
    now = datetime.now(UTC)
    expired = issue_client_certificate("expired", authority, now=now - timedelta(days=30),
                                       not_after=now - timedelta(days=1))
    secured.admin.maintenance.server.send(PutClientCertificateOperation(
        "expired", expired.certificate.base64, {"Orders": DatabaseAccess.ADMIN}, SecurityClearance.VALID_USER))
    refused(lambda: _load(secured.store("Orders", secured.write_pem(expired, "expired"))),
            f"The supplied client certificate 'CN=expired(Thumbprint: {expired.certificate.thumbprint})' has "
            f"expired on {expired.certificate.not_after:%A, %d %B %Y}.")


def test_revoked_and_edited_certificates_take_effect_on_the_next_request(secured: Secured) -> None:
    pem = secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.READ})
    store = secured.store("Orders", pem)
    thumbprint = next(certificate.thumbprint for certificate in
                      secured.admin.maintenance.server.send(GetCertificatesOperation(0, 100))
                      if certificate.name == pem.stem)
    refused(lambda: _save(store, "orders/edited"))
    secured.admin.maintenance.server.send(EditClientCertificateOperation(EditClientCertificateOperation.Parameters(
        thumbprint, {"Orders": DatabaseAccess.READ_WRITE}, pem.stem, SecurityClearance.VALID_USER)))
    _save(store, "orders/edited")
    secured.admin.maintenance.server.send(DeleteCertificateOperation(thumbprint))
    refused(lambda: _load(store), "is unknown to the server")
    assert secured.admin.maintenance.server.send(GetCertificateOperation(thumbprint)) is None


def unknown_message(keyed: KeyedCertificate) -> str:
    thumbprint = keyed.certificate.thumbprint
    return (f"The supplied client certificate '{keyed.certificate.subject}(Thumbprint: {thumbprint})' is unknown to "
            f"the server. In order to register your certificate please contact your system administrator.")


def test_foreign_certificate_is_refused_until_registered_and_after_deletion(secured: Secured) -> None:
    """A self-signed certificate from an authority rookdb never saw passes TLS and gets RavenDB's 403."""
    foreign = issue_client_certificate("foreign", None)
    store = secured.store("Orders", secured.write_pem(foreign, "foreign"))
    refused(lambda: _load(store), unknown_message(foreign))
    secured.admin.maintenance.server.send(PutClientCertificateOperation(
        "foreign", base64.b64encode(foreign.certificate.der).decode(), {"Orders": DatabaseAccess.READ},
        SecurityClearance.VALID_USER))
    assert _load(store) is not None
    definition = secured.admin.maintenance.server.send(GetCertificateOperation(foreign.certificate.thumbprint))
    assert definition.name == "foreign" and definition.permissions == {"Orders": DatabaseAccess.READ}
    secured.admin.maintenance.server.send(DeleteCertificateOperation(foreign.certificate.thumbprint))
    refused(lambda: _load(store), unknown_message(foreign))


def test_operator_cannot_create_a_cluster_admin(secured: Secured) -> None:
    pem = secured.issue(SecurityClearance.OPERATOR, {})
    operator = secured.store("Orders", pem)
    operator.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("OperatorMade")))
    with secured.http(pem) as client:
        response = client.post("/admin/certificates", json={"Name": "boss", "SecurityClearance": "ClusterAdmin",
                                                            "Permissions": {}})
    assert response.status_code == 403
    assert response.json()["Type"] == "Raven.Client.Exceptions.Security.AuthorizationException"
    assert "with 'Cluster Admin' security clearance" in response.json()["Message"]


def test_generated_certificate_archive_with_password(secured: Secured) -> None:
    raw = secured.admin.maintenance.server.send(CreateClientCertificateOperation(
        "locked", {"Orders": DatabaseAccess.READ}, SecurityClearance.VALID_USER, "pa55word"))
    archive = zipfile.ZipFile(io.BytesIO(raw.raw_data))
    assert sorted(archive.namelist()) == ["locked.crt", "locked.key", "locked.pfx"]
    assert b"Proc-Type: 4,ENCRYPTED" in archive.read("locked.key")


def test_plain_http_to_the_tls_port_is_refused_cleanly(secured: Secured) -> None:
    plain = secured.server.url.replace("https://", "http://")
    response = httpx.get(f"{plain}/databases")
    assert response.status_code == 400
    body = response.json()
    assert body["Type"] == "Raven.Client.Exceptions.Security.InsufficientTransportLayerProtectionException"
    assert body["Message"] == ("Attempted to access an HTTPS server using HTTP, did you forget to change 'http://' "
                               "to 'https://' ?")
    assert _load(secured.admin) is not None
    audit = (secured.data_dir / "logs" / "audit.log").read_text()
    assert " REFUSED GET /databases database=- certificate=- status=NoCertificateProvided " in audit


def test_single_document_loads_keep_every_check_of_secured_mode(secured: Secured) -> None:
    """``GET /docs?id=`` (the request a session's load sends) through every check: certificate, permission, audit."""
    pem = secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.READ})
    with secured.http(pem) as client:
        allowed = client.get("/databases/Orders/docs?id=orders/1")
        assert allowed.status_code == 200 and allowed.json()["Results"][0]["Total"] == 10
        other = client.get("/databases/Invoices/docs?id=orders/1")
        assert other.status_code == 403 and other.json()["Type"] == "InvalidAuth", other.text
    with secured.http(None) as client:
        anonymous = client.get("/databases/Orders/docs?id=orders/1")
        assert anonymous.status_code == 403 and "none was provided" in anonymous.json()["Message"]
    plain = httpx.get(secured.server.url.replace("https://", "http://") + "/databases/Orders/docs?id=orders/1")
    assert plain.status_code == 400 and plain.json()["Type"].endswith("InsufficientTransportLayerProtectionException")
    lines = (secured.data_dir / "logs" / "audit.log").read_text().splitlines()
    assert any(" REFUSED GET /databases/Invoices/docs database=Invoices certificate=" in line for line in lines)
    assert any(" ALLOWED GET /databases/Orders/docs database=Orders certificate=" in line for line in lines)


def test_audit_log_and_protected_secrets(secured: Secured) -> None:
    reader = secured.store("Orders", secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.READ}))
    refused(lambda: _save(reader, "orders/audited"))
    lines = (secured.data_dir / "logs" / "audit.log").read_text().splitlines()
    assert any(" REFUSED POST /databases/Orders/bulk_docs database=Orders certificate=" in line for line in lines)
    assert any(" ALLOWED " in line and 'name="admin" clearance=ClusterAdmin' in line for line in lines)
    assert any(" CERTIFICATE CREATE " in line for line in lines)
    for secret in (secured.files.server, secured.files.authority_key, secured.files.admin,
                   secured.data_dir / "master.key"):
        assert secret.stat().st_mode & 0o777 == 0o600, secret
    text = "\n".join(lines)
    assert "PRIVATE KEY" not in text
    with secured.http(secured.files.admin) as client:
        for path in ("/certs/server.pem", "/studio/%2e%2e/certs/server.pem", "/studio/..%2f..%2fcerts/ca.key",
                     "/master.key"):
            response = client.get(path)
            # No route (400 RouteNotFoundException, as RavenDB answers) or no such Studio file (404).
            assert response.status_code in (400, 404) and b"PRIVATE KEY" not in response.content, path


def test_tasks_watch_presents_a_certificate(secured: Secured) -> None:
    output = io.StringIO()
    assert watch(secured.server.url, "Orders", once=True, console=Console(file=output),
                 certificate=secured.files.admin, ca=secured.files.authority) == 0
    assert "Database Orders has no embeddings tasks." in output.getvalue()
    with pytest.raises(RookError, match="none was provided"):
        watch(secured.server.url, "Orders", once=True, console=Console(file=io.StringIO()),
              ca=secured.files.authority)


def test_certificates_survive_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    initialize(data_dir)
    first = Secured(data_dir, tmp_path)
    try:
        pem = first.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.READ})
    finally:
        first.close()
    again = Secured(data_dir, tmp_path)
    try:
        names = {certificate.name for certificate in again.admin.maintenance.server.send(
            GetCertificatesOperation(0, 100))}
        assert pem.stem in names
        again.admin.maintenance.server.send(CreateDatabaseOperation(DatabaseRecord("Orders")))
        assert _load(again.store("Orders", pem)) is None
    finally:
        again.close()


def node(secured: Secured, database: str, certificate: Path | None, action: str, key: str) -> dict[str, object]:
    """Run the official Node.js client (``tests/node``, installed by ``scripts/node-client``) once."""
    assert (NODE_CLIENT / "node_modules" / "ravendb").is_dir(), "run scripts/node-client"
    executable = shutil.which("node")
    assert executable is not None, "node is missing: run scripts/node-client"
    environment = {**os.environ, "NODE_EXTRA_CA_CERTS": str(secured.files.authority)}
    finished = subprocess.run(
        [executable, "secured_client.mjs", secured.server.url, database, str(certificate or "-"),
         str(secured.files.authority), action, key],
        cwd=NODE_CLIENT, env=environment, capture_output=True, text=True, timeout=NODE_TIMEOUT_SECONDS, check=True)
    result: dict[str, object] = json.loads(finished.stdout.strip().splitlines()[-1])
    return result


def test_node_client_with_certificates(secured: Secured) -> None:
    admin = node(secured, "Orders", secured.files.admin, "store", "orders/from-node")
    assert admin == {"ok": True, "result": "orders/from-node"}
    reader_pem = secured.issue(SecurityClearance.VALID_USER, {"Orders": DatabaseAccess.READ})
    loaded = node(secured, "Orders", reader_pem, "load", "orders/from-node")
    assert loaded["ok"] is True and isinstance(loaded["result"], dict) and loaded["result"]["Total"] == 42
    write = node(secured, "Orders", reader_pem, "store", "orders/not-allowed")
    assert write["ok"] is False and write["name"] == "AuthorizationException"
    assert "Could not authorize access to Orders" in str(write["message"])
    elsewhere = node(secured, "Invoices", reader_pem, "load", "invoices/1")
    assert elsewhere["name"] == "AuthorizationException" and "access to Invoices" in str(elsewhere["message"])
    anonymous = node(secured, "Orders", None, "load", "orders/1")
    assert anonymous["name"] == "AuthorizationException" and "none was provided" in str(anonymous["message"])


def test_node_client_with_an_unknown_certificate(secured: Secured) -> None:
    foreign = issue_client_certificate("foreign-node", None)
    refusal = node(secured, "Orders", secured.write_pem(foreign, "foreign-node"), "load", "orders/1")
    assert refusal["ok"] is False and refusal["name"] == "AuthorizationException"
    assert unknown_message(foreign) in str(refusal["message"])
