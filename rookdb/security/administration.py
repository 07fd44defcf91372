"""Certificate management (``/admin/certificates``) with RavenDB's rules on who may change what."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from rookdb.errors import BadRequestError, InsufficientClearanceError, ValidationError
from rookdb.security.audit import AuditLog
from rookdb.security.authentication import AuthenticationStatus, Identity
from rookdb.security.certificates import Certificate, read_certificates
from rookdb.security.clearance import SecurityClearance
from rookdb.security.definitions import CertificateDefinition, CertificateRequest
from rookdb.security.issuing import KeyedCertificate, client_certificate_archive, issue_client_certificate
from rookdb.security.store import CertificateStore

__all__ = ["SERVER_CERTIFICATE_NAME", "CertificateAdministration"]

SERVER_CERTIFICATE_NAME = "Server Certificate"
_PRIVILEGED = (SecurityClearance.CLUSTER_ADMIN, SecurityClearance.CLUSTER_NODE)


class CertificateAdministration:
    """Create, register, list, edit and delete client certificates on behalf of a caller.

    ``authority`` signs the certificates this server generates; without one they are self-signed
    (and trusted because they are registered). ``server`` is the loaded server certificate, if any.
    """

    def __init__(self, store: CertificateStore, *, authority: KeyedCertificate | None, server: Certificate | None,
                 audit: AuditLog | None) -> None:
        self.store = store
        self.authority = authority
        self.server = server
        self.audit = audit

    def create(self, request: CertificateRequest, caller: Identity) -> bytes:
        """Generate and register a client certificate; the zip (``.pfx``, ``.crt``, ``.key``) goes to the caller."""
        if self.server is None:
            raise BadRequestError(
                f"Cannot generate the client certificate '{request.name}' because the server certificate is not "
                "loaded. You can supply a server certificate by using the following configuration keys: "
                "Security.Certificate.Path (or run `rookdb certs init`).")
        if request.clearance is SecurityClearance.CLUSTER_ADMIN and not _is_cluster_admin(caller):
            raise InsufficientClearanceError(
                f"Cannot generate the client certificate '{request.name}' with 'Cluster Admin' security clearance "
                f"because the current client certificate being used has a lower clearance: {caller.clearance}")
        issued = issue_client_certificate(request.name, self.authority, not_after=request.not_after)
        self._register("CREATE", caller, CertificateDefinition.for_certificate(
            issued.certificate, request.name, request.clearance, request.permissions))
        return client_certificate_archive(request.name, issued, request.password)

    def put(self, request: CertificateRequest, caller: Identity) -> None:
        """Register an existing certificate (Base64 DER, PEM or PKCS#12) with a clearance and permissions."""
        if request.clearance in _PRIVILEGED and not _is_cluster_admin(caller):
            raise InsufficientClearanceError(
                f"Cannot save the certificate '{request.name}' with '{request.clearance}' security clearance "
                f"because the current client certificate being used has a lower clearance: {caller.clearance}")
        if request.certificate is None:
            raise ValidationError("Certificate", "Certificate is a mandatory property when saving an existing "
                                                 "certificate")
        certificate = _decode(request.certificate, request.password)
        if self.server is not None and certificate.thumbprint == self.server.thumbprint:
            raise BadRequestError(f"You are trying to import the same server certificate ({certificate.thumbprint}) "
                                  "as the one which is already loaded. This is not supported.")
        self._register("PUT", caller, CertificateDefinition.for_certificate(
            certificate, request.name, request.clearance, request.permissions))

    def edit(self, request: CertificateRequest, caller: Identity) -> None:
        """Change a registered certificate's name, clearance, permissions or disabled flag."""
        thumbprint = (request.thumbprint or "").upper()
        existing = self.store.get(thumbprint) if thumbprint else None
        if existing is None:
            raise BadRequestError(f"Cannot edit permissions for certificate with thumbprint '{request.thumbprint}'. "
                                  "It doesn't exist in the cluster.")
        if existing.clearance in _PRIVILEGED and not _is_cluster_admin(caller):
            raise InsufficientClearanceError(
                f"Cannot edit the certificate '{existing.name}'. It has '{existing.clearance}' security clearance "
                f"while the current client certificate being used has a lower clearance: {caller.clearance}")
        if request.clearance in _PRIVILEGED and not _is_cluster_admin(caller):
            raise InsufficientClearanceError(
                f"Cannot edit security clearance to '{request.clearance}' for certificate '{existing.name}'. Only a "
                f"'Cluster Admin' can do that and your current client certificate has a lower clearance: "
                f"{caller.clearance}")
        self._register("EDIT", caller, existing.edited(request))

    def delete(self, thumbprint: str, caller: Identity) -> None:
        existing = self.store.get(thumbprint)
        if caller.certificate is not None and caller.certificate.thumbprint == thumbprint.upper():
            name = existing.name if existing is not None else thumbprint
            raise BadRequestError(f"Cannot delete {name} because it's the current client certificate being used")
        if existing is None:
            return
        if existing.clearance in _PRIVILEGED and not _is_cluster_admin(caller):
            raise InsufficientClearanceError(
                f"Cannot delete the certificate '{existing.name}' with '{existing.clearance}' security clearance "
                f"because the current client certificate being used has a lower clearance: {caller.clearance}")
        self.store.delete(thumbprint)
        if self.audit is not None:
            self.audit.certificate_change("DELETE", caller, name=existing.name, thumbprint=existing.thumbprint,
                                          detail=f"clearance={existing.clearance}")

    def list(self, *, start: int, page_size: int, name: str | None = None, metadata_only: bool = False
             ) -> list[dict[str, Any]]:
        """Registered certificates (a page of them), after the loaded server certificate as RavenDB lists it."""
        results: list[dict[str, Any]] = []
        if self.server is not None and name in (None, SERVER_CERTIFICATE_NAME):
            results.append(self._server_definition().to_json(metadata_only=metadata_only))
        registered = [definition for definition in self.store.all() if name is None or definition.name == name]
        results.extend(definition.to_json(metadata_only=metadata_only)
                       for definition in registered[start:start + page_size])
        return results

    def get(self, thumbprint: str, *, metadata_only: bool = False) -> dict[str, Any] | None:
        definition = self.store.get(thumbprint)
        if definition is None and self.server is not None and self.server.thumbprint == thumbprint.upper():
            definition = self._server_definition()
        return definition.to_json(metadata_only=metadata_only) if definition is not None else None

    def _server_definition(self) -> CertificateDefinition:
        assert self.server is not None
        return CertificateDefinition.for_certificate(self.server, SERVER_CERTIFICATE_NAME,
                                                     SecurityClearance.CLUSTER_NODE, {})

    def _register(self, action: str, caller: Identity, definition: CertificateDefinition) -> None:
        self.store.put(definition)
        if self.audit is not None:
            permissions = ",".join(f"{name}:{access}" for name, access in definition.permissions.items()) or "-"
            self.audit.certificate_change(action, caller, name=definition.name, thumbprint=definition.thumbprint,
                                          detail=f"clearance={definition.clearance} permissions={permissions}")


def _is_cluster_admin(caller: Identity) -> bool:
    return caller.status is AuthenticationStatus.CLUSTER_ADMIN


def _decode(encoded: str, password: str | None) -> Certificate:
    """The certificate in a Put body: Base64 of DER, of PEM text or of a PKCS#12 file (leaf only)."""
    try:
        raw = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError) as error:
        raise ValidationError("Certificate", "Unable to parse the Certificate property, expected a Base64 value"
                              ) from error
    try:
        return read_certificates(raw)[0]
    except ValidationError:
        pass
    try:
        _, leaf, _ = pkcs12.load_key_and_certificates(raw, password.encode() if password else None)
    except ValueError as error:
        raise ValidationError("Certificate", "Unable to load the provided certificate.") from error
    if leaf is None:
        raise ValidationError("Certificate", "Unable to load the provided certificate.")
    return Certificate(leaf.public_bytes(serialization.Encoding.DER))
