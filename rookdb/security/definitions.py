"""Registered certificates: RavenDB's ``CertificateDefinition`` and the requests that create or edit one."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from rookdb.errors import ValidationError
from rookdb.security.certificates import Certificate
from rookdb.security.clearance import DatabaseAccess, SecurityClearance
from rookdb.wire import format_timestamp, parse_timestamp

__all__ = ["CertificateDefinition", "CertificateRequest"]


def _parse_time(text: str, field_name: str) -> datetime:
    moment = parse_timestamp(text)
    if moment is None:
        raise ValidationError(field_name, f"is not a date and time: {text!r}")
    return moment


@dataclass(frozen=True)
class CertificateDefinition:
    """A certificate the server knows: who it is, its clearance and its database permissions.

    Permissions are looked up case-insensitively, as RavenDB's dictionary is. ``certificate`` is the
    Base64 DER of the public certificate: the store never holds a private key.
    """

    name: str
    thumbprint: str
    clearance: SecurityClearance
    certificate: str
    not_after: datetime
    not_before: datetime
    pinning_hash: str
    permissions: Mapping[str, DatabaseAccess] = field(default_factory=dict)
    disabled: bool = False

    @classmethod
    def for_certificate(cls, certificate: Certificate, name: str, clearance: SecurityClearance,
                        permissions: Mapping[str, DatabaseAccess]) -> CertificateDefinition:
        return cls(name=name, thumbprint=certificate.thumbprint, clearance=clearance,
                   certificate=certificate.base64, not_after=certificate.not_after,
                   not_before=certificate.not_before, pinning_hash=certificate.pinning_hash,
                   permissions=dict(permissions))

    def access_to(self, database: str) -> DatabaseAccess | None:
        access = self.permissions.get(database)
        if access is not None:
            return access
        folded = database.casefold()
        return next((value for key, value in self.permissions.items() if key.casefold() == folded), None)

    def edited(self, request: CertificateRequest) -> CertificateDefinition:
        return replace(self, name=request.name, clearance=request.clearance,
                       permissions=dict(request.permissions), disabled=request.disabled)

    def to_json(self, *, metadata_only: bool = False) -> dict[str, Any]:
        """The wire shape the clients' ``CertificateDefinition.from_json`` reads."""
        body: dict[str, Any] = {
            "Name": self.name,
            "Thumbprint": self.thumbprint,
            "SecurityClearance": str(self.clearance),
            "Permissions": {database: str(access) for database, access in self.permissions.items()},
            "NotAfter": format_timestamp(self.not_after),
            "NotBefore": format_timestamp(self.not_before),
            "CollectionSecondaryKeys": [],
            "CollectionPrimaryKey": "",
            "PublicKeyPinningHash": self.pinning_hash,
            "Disabled": self.disabled,
            "Usage": None,
            "SsoServerPublicKeyPinningHashes": [],
            "AllowAnySsoServer": False,
            "SsoIdentifiers": [],
        }
        if not metadata_only:
            body["Certificate"] = self.certificate
        return body

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CertificateDefinition:
        """Read a definition back from the store's file."""
        return cls(name=body["Name"], thumbprint=body["Thumbprint"],
                   clearance=SecurityClearance(body["SecurityClearance"]), certificate=body["Certificate"],
                   not_after=_parse_time(body["NotAfter"], "NotAfter"),
                   not_before=_parse_time(body["NotBefore"], "NotBefore"),
                   pinning_hash=body["PublicKeyPinningHash"],
                   permissions={name: DatabaseAccess(access) for name, access in body["Permissions"].items()},
                   disabled=bool(body.get("Disabled", False)))


@dataclass(frozen=True)
class CertificateRequest:
    """A client's certificate body (create, put or edit), validated as RavenDB validates it."""

    name: str
    clearance: SecurityClearance
    permissions: Mapping[str, DatabaseAccess]
    password: str | None = None
    certificate: str | None = None
    thumbprint: str | None = None
    not_after: datetime | None = None
    disabled: bool = False

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> CertificateRequest:
        name = body.get("Name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError("Name", "Name is a required field in the certificate definition")
        not_after = body.get("NotAfter")
        request = cls(
            name=name,
            clearance=_clearance(body.get("SecurityClearance")),
            permissions=_permissions(body.get("Permissions")),
            password=_optional_text(body, "Password"),
            certificate=_optional_text(body, "Certificate"),
            thumbprint=_optional_text(body, "Thumbprint"),
            not_after=_parse_time(not_after, "NotAfter") if isinstance(not_after, str) and not_after else None,
            disabled=body.get("Disabled") in (True, "true", "True"),
        )
        if request.not_after is not None and request.not_after.date() <= datetime.now(UTC).date():
            raise ValidationError("NotAfter", "The certificate expiration date must be in the future.")
        return request


def _optional_text(body: Mapping[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ValidationError(key, f"must be a string, got {type(value).__name__}")
    return value


def _clearance(value: object) -> SecurityClearance:
    try:
        clearance = SecurityClearance(str(value) if value is not None else SecurityClearance.VALID_USER)
    except ValueError as error:
        choices = ", ".join(str(item) for item in SecurityClearance if item != "UnauthenticatedClients")
        raise ValidationError("SecurityClearance", f"must be one of {choices}, got {value!r}") from error
    if clearance is SecurityClearance.UNAUTHENTICATED_CLIENTS:
        raise ValidationError("SecurityClearance", "a certificate cannot have the UnauthenticatedClients clearance")
    return clearance


def _permissions(value: object) -> dict[str, DatabaseAccess]:
    if value is None:
        raise ValidationError("Permissions", "Permissions is a required field in the certificate definition")
    if not isinstance(value, Mapping):
        raise ValidationError("Permissions", "must be an object of database name to Admin, ReadWrite or Read")
    permissions: dict[str, DatabaseAccess] = {}
    for database, access in value.items():
        if not isinstance(database, str) or not database.strip():
            raise ValidationError("Permissions", "Error in permissions in the certificate definition, database "
                                                 "name is empty")
        try:
            permissions[database] = DatabaseAccess(access)
        except ValueError as error:
            raise ValidationError("Permissions", f"Error in permissions in the certificate definition, invalid "
                                                 f"access {access} for database {database}") from error
    return permissions
