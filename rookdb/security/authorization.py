"""The authorization decision for one request, and RavenDB's words when it refuses.

Mirrors RavenDB's request router (``CanAccessRoute`` and ``UnlikelyFailAuthorization``): the route
declares an ``Access``; the caller's ``Identity`` either satisfies it or gets a message that says
why, which the server answers with 403 and ``Type: InvalidAuth``.
"""

from __future__ import annotations

from rookdb.security.authentication import AuthenticationStatus, Identity
from rookdb.security.clearance import Access, AuthorizationStatus, EndpointType

__all__ = ["BROWSER_CERTIFICATE_HINT", "refusal"]

BROWSER_CERTIFICATE_HINT = (
    "\nYour certificate store may be cached by the browser. Create a new private browsing tab, which will not "
    "cache any certificates. (Ctrl+Shift+N in Chrome, Ctrl+Shift+P in Firefox)")

_UNAUTHENTICATED = (AuthenticationStatus.NO_CERTIFICATE_PROVIDED, AuthenticationStatus.UNFAMILIAR_CERTIFICATE,
                    AuthenticationStatus.DISABLED, AuthenticationStatus.EXPIRED, AuthenticationStatus.NOT_YET_VALID)

_REQUIRED = {
    AuthorizationStatus.CLUSTER_ADMIN: " ClusterAdmin access is required but not given to this certificate",
    AuthorizationStatus.OPERATOR: " Operator/ClusterAdmin access is required but not given to this certificate",
    AuthorizationStatus.DATABASE_ADMIN: " DatabaseAdmin access is required but not given to this certificate",
}


def refusal(access: Access, identity: Identity, database: str | None, *, from_client_api: bool) -> str | None:
    """``None`` when ``identity`` may use a route declaring ``access`` (on ``database``), else the reason."""
    if not identity.secured or _allowed(access, identity, database):
        return None
    return _message(identity, database, access.status, from_client_api=from_client_api)


def _allowed(access: Access, identity: Identity, database: str | None) -> bool:
    status = identity.status
    if access.status is AuthorizationStatus.UNAUTHENTICATED_CLIENTS:
        return not (access.page and status in _UNAUTHENTICATED)
    if status is AuthenticationStatus.CLUSTER_ADMIN:
        return True
    if status is AuthenticationStatus.OPERATOR:
        return access.status is not AuthorizationStatus.CLUSTER_ADMIN
    if status is AuthenticationStatus.ALLOWED:
        if access.status in (AuthorizationStatus.OPERATOR, AuthorizationStatus.CLUSTER_ADMIN):
            return False
        return database is None or identity.can_access(
            database, require_admin=access.status is AuthorizationStatus.DATABASE_ADMIN,
            require_write=access.endpoint is EndpointType.WRITE)
    return False


def _message(identity: Identity, database: str | None, required: AuthorizationStatus, *,
             from_client_api: bool) -> str:
    hint = "" if from_client_api else BROWSER_CERTIFICATE_HINT
    name = identity.display_name
    target = database if database is not None else "the server"
    match identity.status:
        case AuthenticationStatus.NO_CERTIFICATE_PROVIDED:
            message = ("This server requires client certificate for authentication, but none was provided by the "
                       "client. Did you forget to install the certificate?" + hint)
        case AuthenticationStatus.UNFAMILIAR_CERTIFICATE:
            message = (f"The supplied client certificate '{name}' is unknown to the server. In order to register "
                       f"your certificate please contact your system administrator." + hint)
        case AuthenticationStatus.DISABLED:
            message = (f"The supplied client certificate '{name}' is disabled. Please contact your system "
                       f"administrator.")
        case AuthenticationStatus.ALLOWED:
            message = f"Could not authorize access to {target} using provided client certificate '{name}'."
        case AuthenticationStatus.OPERATOR:
            message = f"Insufficient security clearance to access {target} using provided client certificate '{name}'."
        case AuthenticationStatus.EXPIRED:
            assert identity.certificate is not None
            message = (f"The supplied client certificate '{name}' has expired on "
                       f"{identity.certificate.not_after:%A, %d %B %Y}. Please contact your system administrator "
                       f"in order to obtain a new one.")
        case AuthenticationStatus.NOT_YET_VALID:
            assert identity.certificate is not None
            message = (f"The supplied client certificate '{name}' cannot be used before "
                       f"{identity.certificate.not_before:%A, %d %B %Y}")
        case _:
            message = "Access to the server was denied."
    return message + _REQUIRED.get(required, "")

