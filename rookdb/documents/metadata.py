"""Document metadata rules: which ``@metadata`` keys the server owns and how ids are generated."""

from __future__ import annotations

import uuid
from typing import Any

from rookdb.errors import BadRequestError
from rookdb.storage.metadata import SERVER_OWNED_KEYS

__all__ = [
    "EMPTY_COLLECTION",
    "SERVER_OWNED_KEYS",
    "collection_of",
    "prepare_body",
    "resolve_new_id",
]

EMPTY_COLLECTION = "@empty"


def collection_of(body: dict[str, Any]) -> str:
    """The collection named by ``@metadata.@collection`` (``@empty`` when absent)."""
    metadata = body.get("@metadata")
    if isinstance(metadata, dict):
        collection = metadata.get("@collection")
        if isinstance(collection, str) and collection:
            return collection
    return EMPTY_COLLECTION


def prepare_body(body: Any) -> tuple[dict[str, Any], str]:
    """Validate a document body, drop server-owned metadata, and return it with its collection."""
    if not isinstance(body, dict):
        raise BadRequestError("A document must be a JSON object.")
    metadata = body.get("@metadata")
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise BadRequestError("@metadata must be a JSON object.")
    if not SERVER_OWNED_KEYS.isdisjoint(metadata):
        metadata = {key: value for key, value in metadata.items() if key not in SERVER_OWNED_KEYS}
    body["@metadata"] = metadata
    return body, collection_of(body)


def resolve_new_id(requested: str | None, etag: int, identity: int | None = None) -> str:
    """Apply RavenDB's id conventions for ids the server completes.

    ``prefix/`` gets the write's etag (``orders/0000000000000000042-A``), ``prefix|`` an identity
    (``orders/7``), and an empty id a GUID.
    """
    if not requested:
        return str(uuid.uuid4())
    if requested.endswith("/"):
        return f"{requested}{etag:019d}-A"
    if requested.endswith("|"):
        if identity is None:
            raise BadRequestError("An identity id needs an identity value.")
        return f"{requested[:-1]}/{identity}"
    return requested
