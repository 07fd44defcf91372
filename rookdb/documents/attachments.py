"""Attachments of documents: put, copy, move (rename), delete, and their details as the clients read them.

Content is stored once per hash; copying or moving an attachment shares its content. Every change
gives the document a new change vector (and its ``@attachments`` metadata).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rookdb.documents.database import Database
from rookdb.errors import BadRequestError, ConcurrencyError, NotFoundError
from rookdb.storage.base import Attachment, WriteTransaction

__all__ = [
    "AttachmentChange",
    "copy_in",
    "delete_attachment",
    "delete_in",
    "move_in",
    "put_attachment",
    "put_in",
    "validate_name",
]

DEFAULT_CONTENT_TYPE = ""


class AttachmentNotFoundError(NotFoundError):
    """An attachment that a copy or move names does not exist."""

    wire_type = "Raven.Client.Exceptions.Documents.Attachments.AttachmentDoesNotExistException"


@dataclass(frozen=True)
class AttachmentChange:
    """An attachment as written, with the change vector its document got."""

    attachment: Attachment
    document_change_vector: str

    def details(self) -> dict[str, Any]:
        """``AttachmentDetails`` (``PutAttachmentOperation``'s answer)."""
        return {"Name": self.attachment.name, "Hash": self.attachment.hash,
                "ContentType": self.attachment.content_type, "Size": self.attachment.size,
                "ChangeVector": self.document_change_vector, "DocumentId": self.attachment.document_id}

    def batch_result(self, kind: str) -> dict[str, Any]:
        """The entry of an ``AttachmentPUT``/``AttachmentCOPY`` command in a ``bulk_docs`` answer."""
        return {"Type": kind, "Id": self.attachment.document_id, "Name": self.attachment.name,
                "ChangeVector": self.document_change_vector, "Hash": self.attachment.hash,
                "ContentType": self.attachment.content_type, "Size": self.attachment.size,
                "DocumentChangeVector": self.document_change_vector}


def validate_name(name: Any, what: str = "Name") -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadRequestError(f"The attachment's {what} must be a non-empty string.")
    return name


def _document(tx: WriteTransaction, doc_id: str, expected_change_vector: str | None, action: str) -> str:
    document = tx.get(doc_id)
    if document is None:
        raise NotFoundError(f"Document '{doc_id}' does not exist, so its attachment cannot be {action}.")
    if expected_change_vector and expected_change_vector != document.change_vector:
        raise ConcurrencyError(
            f"Document {doc_id} has change vector {document.change_vector}, but the attachment operation expected "
            f"{expected_change_vector}.")
    return document.id


def _written(tx: WriteTransaction, attachment: Attachment) -> AttachmentChange:
    document = tx.get(attachment.document_id)
    return AttachmentChange(attachment, document.change_vector if document is not None else "")


def put_in(tx: WriteTransaction, doc_id: str, name: str, content_type: str | None, content: bytes,
           expected_change_vector: str | None = None) -> AttachmentChange:
    stored_id = _document(tx, doc_id, expected_change_vector, "stored")
    attachment = tx.put_attachment(stored_id, validate_name(name), content_type or DEFAULT_CONTENT_TYPE, content)
    return _written(tx, attachment)


def copy_in(tx: WriteTransaction, doc_id: str, name: str, destination_id: str, destination_name: str,
            expected_change_vector: str | None = None) -> AttachmentChange:
    stored_id = _document(tx, doc_id, expected_change_vector, "copied")
    target_id = _document(tx, destination_id, None, "copied")
    copied = tx.copy_attachment(stored_id, validate_name(name), target_id,
                                validate_name(destination_name, "DestinationName"))
    if copied is None:
        raise AttachmentNotFoundError(f"There is no attachment with '{name}' name for document '{doc_id}'.")
    return _written(tx, copied)


def move_in(tx: WriteTransaction, doc_id: str, name: str, destination_id: str, destination_name: str,
            expected_change_vector: str | None = None) -> AttachmentChange:
    """Move (or, on the same document, rename) an attachment; the destination must not exist yet."""
    if tx.get_attachment(destination_id, destination_name) is not None:
        raise ConcurrencyError(f"Cannot move attachment '{name}' of '{doc_id}' to '{destination_name}' of "
                               f"'{destination_id}': an attachment with that name already exists there.")
    moved = copy_in(tx, doc_id, name, destination_id, destination_name, expected_change_vector)
    if (doc_id.lower(), name) != (destination_id.lower(), destination_name):
        tx.delete_attachment(doc_id, name)
    return _written(tx, moved.attachment)


def delete_in(tx: WriteTransaction, doc_id: str, name: str, expected_change_vector: str | None = None) -> str | None:
    """Delete an attachment; deleting one of a missing document is a no-op (as in RavenDB). Returns the
    document's change vector afterwards (None when the document does not exist)."""
    document = tx.get(doc_id)
    if document is None:
        return None
    _document(tx, doc_id, expected_change_vector, "deleted")
    tx.delete_attachment(document.id, validate_name(name))
    after = tx.get(doc_id)
    return after.change_vector if after is not None else None


def put_attachment(database: Database, doc_id: str, name: str, content_type: str | None, content: bytes,
                   expected_change_vector: str | None = None) -> AttachmentChange:
    with database.storage.write() as tx:
        change = put_in(tx, doc_id, name, content_type, content, expected_change_vector)
    return change


def delete_attachment(database: Database, doc_id: str, name: str, expected_change_vector: str | None = None) -> None:
    with database.storage.write() as tx:
        delete_in(tx, doc_id, name, expected_change_vector)
