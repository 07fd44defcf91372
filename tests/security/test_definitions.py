"""Certificate definitions: the wire shape the official client reads, and request validation."""

from __future__ import annotations

from typing import Any

import pytest
from ravendb.serverwide.operations.certificates import CertificateDefinition as ClientDefinition
from ravendb.serverwide.operations.certificates import CertificateMetadata as ClientMetadata
from ravendb.serverwide.operations.certificates import DatabaseAccess as ClientAccess

from rookdb.errors import ValidationError
from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.security.definitions import CertificateDefinition, CertificateRequest
from rookdb.security.issuing import KeyedCertificate


def _definition(client: KeyedCertificate) -> CertificateDefinition:
    return CertificateDefinition.for_certificate(client.certificate, "app", SecurityClearance.VALID_USER,
                                                 {"Orders": DatabaseAccess.READ})


def test_the_official_client_reads_the_wire_shape(client: KeyedCertificate) -> None:
    definition = _definition(client)
    parsed = ClientDefinition.from_json(definition.to_json())
    assert (parsed.name, parsed.thumbprint, parsed.certificate) == ("app", client.certificate.thumbprint,
                                                                    client.certificate.base64)
    assert parsed.permissions == {"Orders": ClientAccess.READ}
    metadata = ClientMetadata.from_json(definition.to_json(metadata_only=True))
    assert metadata.security_clearance.value == "ValidUser"
    assert metadata.not_after is not None and metadata.not_after.year == client.certificate.not_after.year
    assert "Certificate" not in definition.to_json(metadata_only=True)


def test_json_round_trip_and_case_insensitive_permissions(client: KeyedCertificate) -> None:
    definition = _definition(client)
    assert CertificateDefinition.from_json(definition.to_json()) == definition
    assert definition.access_to("orders") is DatabaseAccess.READ
    assert definition.access_to("Other") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"Permissions": {}}, "Name"),
        ({"Name": "  ", "Permissions": {}}, "Name"),
        ({"Name": "a"}, "Permissions"),
        ({"Name": "a", "Permissions": ["db"]}, "Permissions"),
        ({"Name": "a", "Permissions": {"db": "Write"}}, "Permissions"),
        ({"Name": "a", "Permissions": {"": "Read"}}, "Permissions"),
        ({"Name": "a", "Permissions": {}, "SecurityClearance": "God"}, "SecurityClearance"),
        ({"Name": "a", "Permissions": {}, "SecurityClearance": "UnauthenticatedClients"}, "SecurityClearance"),
        ({"Name": "a", "Permissions": {}, "NotAfter": "2001-01-01T00:00:00.0000000Z"}, "NotAfter"),
        ({"Name": "a", "Permissions": {}, "NotAfter": "tomorrow"}, "NotAfter"),
        ({"Name": "a", "Permissions": {}, "Password": 5}, "Password"),
    ],
)
def test_bad_requests_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as raised:
        CertificateRequest.from_json(body)
    assert raised.value.field == field


def test_request_as_the_python_client_sends_it() -> None:
    request = CertificateRequest.from_json({"Name": "app", "SecurityClearance": "ValidUser", "Password": "pw",
                                            "Permissions": {"Orders": "ReadWrite"}})
    assert request.clearance is SecurityClearance.VALID_USER
    assert request.permissions == {"Orders": DatabaseAccess.READ_WRITE}
    assert request.password == "pw"
