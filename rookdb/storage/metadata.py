"""The metadata a backend owns on every stored document: id, change vector, timestamp, attachments.

Backends share these rules so a document reads the same whatever stores it.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterable
from typing import Any

import orjson

from rookdb.wire import ATTACHMENTS, CHANGE_VECTOR, EXPIRES, FLAGS, LAST_MODIFIED

__all__ = [
    "EXPIRES_MARKER",
    "SERVER_OWNED_KEYS",
    "AttachmentRow",
    "apply_attachments",
    "change_vector",
    "content_hash",
    "expires_of",
    "new_database_id",
    "stamp",
]

AttachmentRow = tuple[str, str, str, int]  # name, hash, content type, size

# Bodies are written by orjson, which never escapes "@": a body without these bytes has no @expires.
EXPIRES_MARKER = f'"{EXPIRES}"'.encode()

# Clients send back the whole stored metadata on update; these keys are recomputed by the server.
SERVER_OWNED_KEYS = frozenset({
    "@id", CHANGE_VECTOR, LAST_MODIFIED, FLAGS, ATTACHMENTS, "@counters",
    "@timeseries", "@index-score", "@projection", "@nested-object-types",
})


def expires_of(body: bytes) -> str | None:
    """A stored body's ``@metadata.@expires`` when it is a string (a timestamp still to be read)."""
    if EXPIRES_MARKER not in body:
        return None
    metadata = orjson.loads(body).get("@metadata")
    value = metadata.get(EXPIRES) if isinstance(metadata, dict) else None
    return value if isinstance(value, str) else None


def content_hash(content: bytes) -> str:
    """RavenDB's attachment hash: base64 of the SHA-256 of the content."""
    return base64.b64encode(hashlib.sha256(content).digest()).decode("ascii")


def new_database_id() -> str:
    """A database id as RavenDB writes it into change vectors: 22 URL-safe base64 characters."""
    return base64.b64encode(secrets.token_bytes(16), altchars=b"-_").decode()[:22]


def change_vector(etag: int, database_id: str) -> str:
    return f"A:{etag}-{database_id}"


def stamp(body: dict[str, Any], doc_id: str, vector: str, last_modified: str) -> dict[str, Any]:
    """Fill the server-owned keys of ``body['@metadata']`` (created if missing) and return it."""
    metadata = body.get("@metadata")
    if not isinstance(metadata, dict):
        metadata = body["@metadata"] = {}
    metadata["@id"] = doc_id
    metadata[CHANGE_VECTOR] = vector
    metadata[LAST_MODIFIED] = last_modified
    return metadata


def apply_attachments(metadata: dict[str, Any], rows: Iterable[AttachmentRow]) -> None:
    """Write ``@attachments`` and the ``HasAttachments`` flag from the document's attachment rows."""
    if not rows and FLAGS not in metadata and ATTACHMENTS not in metadata:
        return  # the common case, kept cheap for batches
    listed = [
        {"Name": name, "Hash": digest, "ContentType": content_type, "Size": size}
        for name, digest, content_type, size in rows
    ]
    flags = [f for f in str(metadata.get(FLAGS) or "").split(", ") if f and f != "HasAttachments"]
    if listed:
        metadata[ATTACHMENTS] = listed
        flags.append("HasAttachments")
    else:
        metadata.pop(ATTACHMENTS, None)
    if flags:
        metadata[FLAGS] = ", ".join(flags)
    else:
        metadata.pop(FLAGS, None)
