"""The one exception hierarchy of rookdb.

Every error a user can see is a ``RookError``. Each class carries the HTTP status it is answered
with and the .NET type name RavenDB puts in the ``Type`` field of its error envelope, because the
official clients rebuild the exception from the last dotted segment of ``Type``.

    RookError (500, RavenException)
    ├── BadRequestError (400, BadRequestException)
    │   ├── InvalidQueryError (400, InvalidQueryException)
    │   ├── ValidationError (400, BadRequestException) — a named field broke a named rule
    │   ├── ScriptError (400, JavaScriptException)
    │   ├── InUseError (400, BadRequestException) — a connection string still used by a task
    │   ├── VectorDimensionMismatchError (400, BadRequestException) — a vector of the wrong length
    │   ├── InvalidVectorError (400, BadRequestException; also a ValueError) — NaN, infinity, out of range
    │   └── InsecureTransportError (400, InsufficientTransportLayerProtectionException) — plain HTTP on TLS
    ├── NotFoundError (404, RavenException) — a task, connection string or database record
    │   ├── DocumentNotFoundError (404, DocumentDoesNotExistException)
    │   ├── AttachmentNotFoundError (404, AttachmentDoesNotExistException)
    │   ├── IndexNotFoundError (404, IndexDoesNotExistException; 400 where RavenDB's handler throws it)
    │   └── RouteNotFoundError (400 as in RavenDB, RouteNotFoundException) — no endpoint for method and path
    ├── AuthorizationError (403, InvalidAuth) — no, unknown, expired or insufficient client certificate
    │   └── InsufficientClearanceError (403, AuthorizationException) — a certificate change above the caller
    ├── DatabaseDoesNotExistError (503, DatabaseDoesNotExistException, Database-Missing header)
    ├── DatabaseDisabledError (503, DatabaseDisabledException)
    ├── ConcurrencyError (409, ConcurrencyException)
    │   └── DatabaseAlreadyExistsError (409, ConcurrencyException)
    ├── IndexCompilationError (500, IndexCompilationException) — a map or reduce rookdb cannot compile
    ├── StorageError (500, RavenException) — the storage engine failed
    │   └── StorageUnavailableError (503, DatabaseLoadFailureException) — the storage server is unreachable
    ├── RequestTimeoutError (408, System.TimeoutException)
    └── AiError (500, AiException) — a provider or model failed
        ├── AiConfigurationError (400, AiException) — settings can never work (bad URL, missing key)
        ├── AiAuthenticationError (401 from provider; 400 here, UnsuccessfulAiRequestException)
        ├── AiModelNotFoundError (404 from provider; 400 here, UnsuccessfulAiRequestException)
        ├── AiEndpointRetiredError (410 from provider; 400 here, UnsuccessfulAiRequestException)
        ├── AiBadRequestError (400/413/422 from provider, UnsuccessfulAiRequestException)
        ├── AiResponseShapeError (502, UnsuccessfulAiRequestException)
        ├── AiRateLimitError (429, RateLimitException)
        └── AiUnavailableError (503, UnsuccessfulAiRequestException) — unreachable, loading, 5xx
            └── AiModelLoadingError (503) — the provider is loading the model and said how long
"""

from __future__ import annotations

from typing import Any, ClassVar

__all__ = [
    "AiAuthenticationError",
    "AiBadRequestError",
    "AiConfigurationError",
    "AiEndpointRetiredError",
    "AiError",
    "AiModelLoadingError",
    "AiModelNotFoundError",
    "AiRateLimitError",
    "AiResponseShapeError",
    "AiUnavailableError",
    "AttachmentNotFoundError",
    "AuthorizationError",
    "BadRequestError",
    "ConcurrencyError",
    "DatabaseAlreadyExistsError",
    "DatabaseDisabledError",
    "DatabaseDoesNotExistError",
    "DocumentNotFoundError",
    "InUseError",
    "IndexCompilationError",
    "IndexNotFoundError",
    "InsecureTransportError",
    "InsufficientClearanceError",
    "InvalidQueryError",
    "InvalidVectorError",
    "NotFoundError",
    "NotResponsibleError",
    "RequestTimeoutError",
    "RookError",
    "RouteNotFoundError",
    "ScriptError",
    "StorageError",
    "StorageUnavailableError",
    "ValidationError",
    "VectorDimensionMismatchError",
]


class RookError(Exception):
    """Base of every error rookdb reports; unexpected failures are wrapped in it at the edge."""

    status_code: ClassVar[int] = 500
    wire_type: ClassVar[str] = "Raven.Client.Exceptions.RavenException"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def extra_fields(self) -> dict[str, Any]:
        """Fields added to the error envelope next to ``Type``/``Message``/``Error``."""
        return {}

    def headers(self) -> dict[str, str]:
        """Response headers the error needs (e.g. ``Database-Missing``)."""
        return {}


class BadRequestError(RookError):
    """The request is malformed: unreadable JSON, a missing parameter, a wrong type."""

    status_code = 400
    wire_type = "Raven.Client.Exceptions.BadRequestException"


class InvalidQueryError(BadRequestError):
    """RQL that cannot be parsed or executed; the message names the position of the problem."""

    wire_type = "Raven.Client.Exceptions.InvalidQueryException"

    def __init__(self, message: str, query: str | None = None, position: int | None = None) -> None:
        super().__init__(message)
        self.query = query
        self.position = position

    def extra_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self.query is not None:
            fields["Query"] = self.query
        if self.position is not None:
            fields["Position"] = self.position
        return fields


class ValidationError(BadRequestError):
    """A named field broke a named rule, e.g. an identifier with ``--``."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field

    def extra_fields(self) -> dict[str, Any]:
        return {"Field": self.field}


class ScriptError(BadRequestError):
    """A user's JavaScript failed to compile, threw, or ran out of time or memory."""

    wire_type = "Raven.Client.Exceptions.Documents.Patching.JavaScriptException"


class NotFoundError(RookError):
    """A named thing (a task, a connection string, a database record) does not exist.

    RavenDB has no exception for "not found" in general, so the wire ``Type`` is its base exception;
    the kinds it does name have their own subclass.
    """

    status_code = 404
    wire_type = "Raven.Client.Exceptions.RavenException"


class DocumentNotFoundError(NotFoundError):
    """An operation needs a document that does not exist."""

    wire_type = "Raven.Client.Exceptions.Documents.DocumentDoesNotExistException"


class AttachmentNotFoundError(NotFoundError):
    """A document exists but has no attachment of that name."""

    wire_type = "Raven.Client.Exceptions.Documents.Attachments.AttachmentDoesNotExistException"


class IndexNotFoundError(NotFoundError):
    """A query named an index that does not exist."""

    wire_type = "Raven.Client.Exceptions.Documents.Indexes.IndexDoesNotExistException"

    def thrown(self) -> IndexNotFoundError:
        """The same error answered with 400, where RavenDB's handler throws it rather than answering
        404 (which the client takes for "nothing there"): the client raises it. RavenDB's status there
        is 500; a request naming a missing index is the caller's mistake, and rookdb keeps 500 for its own."""
        return _ThrownIndexNotFoundError(str(self))


class _ThrownIndexNotFoundError(IndexNotFoundError):
    status_code = 400


class RouteNotFoundError(NotFoundError):
    """No endpoint serves this method and path; RavenDB answers that with 400, not 404."""

    status_code = 400
    wire_type = "Raven.Client.Exceptions.Routing.RouteNotFoundException"


class InsecureTransportError(BadRequestError):
    """A plain-HTTP request reached the HTTPS port of a secured server."""

    wire_type = "Raven.Client.Exceptions.Security.InsufficientTransportLayerProtectionException"


class AuthorizationError(RookError):
    """The request's client certificate is missing, unknown, expired or lacks the route's clearance.

    ``InvalidAuth`` is the ``Type`` RavenDB's request router writes; every official client turns a 403 into
    its ``AuthorizationException``, whatever the type.
    """

    status_code = 403
    wire_type = "InvalidAuth"


class InsufficientClearanceError(AuthorizationError):
    """A certificate operation would act on, or grant, a clearance above the caller's own."""

    wire_type = "Raven.Client.Exceptions.Security.AuthorizationException"


class DatabaseDoesNotExistError(RookError):
    """A request named a database that does not exist (answered 503 + ``Database-Missing``)."""

    status_code = 503
    wire_type = "Raven.Client.Exceptions.Database.DatabaseDoesNotExistException"

    def __init__(self, database: str) -> None:
        super().__init__(f"Database '{database}' does not exist.")
        self.database = database

    def headers(self) -> dict[str, str]:
        return {"Database-Missing": self.database}


class DatabaseDisabledError(RookError):
    """A request named a database that an administrator disabled (``ToggleDatabasesStateOperation``)."""

    status_code = 503
    wire_type = "Raven.Client.Exceptions.Database.DatabaseDisabledException"

    def __init__(self, database: str) -> None:
        super().__init__(f"Database '{database}' is disabled.")
        self.database = database


class ConcurrencyError(RookError):
    """An optimistic-concurrency check failed: the stored change vector is not the expected one."""

    status_code = 409
    wire_type = "Raven.Client.Exceptions.ConcurrencyException"


class NotResponsibleError(ConcurrencyError):
    """This node no longer holds a task's lease (another node took the task over): its work is not
    committed."""


class DatabaseAlreadyExistsError(ConcurrencyError):
    """A database with that name exists already."""


class InUseError(BadRequestError):
    """A thing cannot be deleted or changed because something else uses it."""


class IndexCompilationError(RookError):
    """An index definition whose map or reduce cannot be compiled: a syntax error, or a construct outside
    what rookdb evaluates. The message names the construct and its line and column.

    RavenDB answers it with 500 (it is not a ``BadRequestException``) and adds the definition property
    (``Maps``, ``Reduce``) and the offending text to the envelope.
    """

    wire_type = "Raven.Client.Exceptions.Documents.Compilation.IndexCompilationException"

    def __init__(self, message: str, *, definition_property: str | None = None,
                 problematic_text: str | None = None) -> None:
        super().__init__(message)
        self.definition_property = definition_property
        self.problematic_text = problematic_text

    def extra_fields(self) -> dict[str, Any]:
        return {"IndexDefinitionProperty": self.definition_property, "ProblematicText": self.problematic_text}


class StorageError(RookError):
    """The storage engine failed (disk full, corrupt file, locked database)."""


class StorageUnavailableError(StorageError):
    """The storage server (PostgreSQL) cannot be reached or refused the connection.

    503, so the official clients fail over to another node instead of reporting an error.
    """

    status_code = 503
    wire_type = "Raven.Client.Exceptions.Database.DatabaseLoadFailureException"


class RequestTimeoutError(RookError):
    """An operation did not finish within its time limit."""

    status_code = 408
    wire_type = "System.TimeoutException"


class AiError(RookError):
    """A provider call or the embedded model failed."""

    wire_type = "Raven.Client.Exceptions.AI.AiException"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, provider_status: int | None = None) -> None:
        super().__init__(message)
        self.provider_status = provider_status

    def extra_fields(self) -> dict[str, Any]:
        return {"StatusCode": self.provider_status} if self.provider_status is not None else {}


class AiConfigurationError(AiError):
    """Connection-string settings that can never work (an unusable URL, a missing credential)."""

    status_code = 400


class _UnsuccessfulAiRequest(AiError):
    wire_type = "Raven.Client.Exceptions.AI.UnsuccessfulAiRequestException"


class AiAuthenticationError(_UnsuccessfulAiRequest):
    """The provider refused the credentials (401/403)."""

    status_code = 400


class AiModelNotFoundError(_UnsuccessfulAiRequest):
    """The provider does not serve the model, or the URL path is wrong (404)."""

    status_code = 400


class AiEndpointRetiredError(_UnsuccessfulAiRequest):
    """The provider host is retired (410), e.g. ``api-inference.huggingface.co``."""

    status_code = 400


class AiBadRequestError(_UnsuccessfulAiRequest):
    """The provider rejected the input (400/413/422) and retrying the same input cannot help."""

    status_code = 400


class AiResponseShapeError(_UnsuccessfulAiRequest):
    """The provider answered 2xx with a body that is not embeddings of the expected shape."""

    status_code = 502


class AiRateLimitError(AiError):
    """The provider is rate limiting (429); ``retry_after`` seconds when it said so."""

    status_code = 429
    wire_type = "Raven.Client.Exceptions.AI.RateLimitException"
    retryable = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message, provider_status=429)
        self.retry_after = retry_after

    def extra_fields(self) -> dict[str, Any]:
        fields = super().extra_fields()
        if self.retry_after is not None:
            seconds = int(self.retry_after)
            fields["RetryAfter"] = f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
        return fields


class AiUnavailableError(_UnsuccessfulAiRequest):
    """The provider is unreachable, loading the model (503), timing out or failing with 5xx."""

    status_code = 503
    retryable = True

    def __init__(
        self, message: str, *, provider_status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message, provider_status=provider_status)
        self.retry_after = retry_after


class AiModelLoadingError(AiUnavailableError):
    """The provider is loading the model (Hugging Face's 503 with ``estimated_time``): wait, then retry."""


class InvalidVectorError(BadRequestError, ValueError):
    """A vector cannot be stored or quantized: it holds NaN or infinity, or a value out of float32 range.

    Also a ``ValueError``, the error a numeric function raises for a value it cannot take.
    """


class VectorDimensionMismatchError(BadRequestError):
    """A vector's length differs from its field's dimensions (declared, or taken from the first vector)."""

    def __init__(self, expected: int, actual: int, *, field: str | None = None) -> None:
        where = f"field '{field}'" if field else "the vector field"
        super().__init__(
            f"A vector has {actual} dimensions but {where} has {expected}: all vectors of a field must come "
            "from the same model and have the same dimensions."
        )
        self.expected = expected
        self.actual = actual
