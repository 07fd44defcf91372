"""Attachments through the official client: with the session (a multipart batch), with operations,
copy, move, rename, exists, names, and content stored once per hash."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from ravendb import DocumentStore, GetStatisticsOperation
from ravendb.documents.operations.attachments import (
    AttachmentType,
    DeleteAttachmentOperation,
    GetAttachmentOperation,
    PutAttachmentOperation,
)
from ravendb.exceptions.raven_exceptions import RavenException

from rookdb.server.runner import BackgroundServer


class Company:
    def __init__(self, Name: str | None = None, Id: str | None = None) -> None:
        self.Name = Name
        self.Id = Id


def read(store: DocumentStore, doc_id: str, name: str) -> bytes:
    with store.operations.send(GetAttachmentOperation(doc_id, name, AttachmentType.document, None)) as result:
        content: bytes = result.data
        return content


def test_the_session_stores_attachments_with_its_documents(store: DocumentStore) -> None:
    with store.open_session() as session:
        company = Company("Acme")
        session.store(company, "companies/1")
        session.advanced.attachments.store(company, "logo.png", b"\x89PNG-bytes", "image/png")
        session.advanced.attachments.store(company, "notes.txt", b"hello", "text/plain")
        session.save_changes()
    with store.open_session() as session:
        company = session.load("companies/1", Company)
        names = sorted((name.name, name.content_type, name.size) for name in
                       session.advanced.attachments.get_names(company))
        assert names == [("logo.png", "image/png", 10), ("notes.txt", "text/plain", 5)]
        assert session.advanced.attachments.exists("companies/1", "notes.txt")
        assert not session.advanced.attachments.exists("companies/1", "missing")
        with session.advanced.attachments.get("companies/1", "logo.png") as attachment:
            assert attachment.data == b"\x89PNG-bytes" and attachment.details.content_type == "image/png"
    assert read(store, "companies/1", "notes.txt") == b"hello"


def test_copy_move_rename_and_delete(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Company("One"), "companies/1")
        session.store(Company("Two"), "companies/2")
        session.advanced.attachments.store("companies/1", "a", b"same")
        session.save_changes()
    with store.open_session() as session:  # the client refuses equal streams in one batch
        session.advanced.attachments.store("companies/2", "b", b"same")
        session.save_changes()
    stats = store.maintenance.send(GetStatisticsOperation())
    assert (stats.count_of_attachments, stats.count_of_unique_attachments) == (2, 1)
    with store.open_session() as session:
        session.load(["companies/1", "companies/2"], Company)  # the client copies and moves loaded documents
        session.advanced.attachments.copy("companies/1", "a", "companies/2", "copied")
        session.advanced.attachments.rename("companies/1", "a", "renamed")
        session.save_changes()
    with store.open_session() as session:
        session.load(["companies/1", "companies/2"], Company)
        session.advanced.attachments.move("companies/1", "renamed", "companies/2", "b")
        with pytest.raises(RavenException, match="already exists"):
            session.save_changes()
    with store.open_session() as session:
        session.load(["companies/1", "companies/2"], Company)
        session.advanced.attachments.move("companies/1", "renamed", "companies/2", "moved")
        session.advanced.attachments.delete("companies/2", "copied")
        session.save_changes()
    with store.open_session() as session:
        assert not session.advanced.attachments.exists("companies/1", "renamed")
        assert session.advanced.attachments.exists("companies/2", "moved")
        assert not session.advanced.attachments.exists("companies/2", "copied")
    assert read(store, "companies/2", "moved") == b"same"


def test_attachment_operations(store: DocumentStore) -> None:
    with store.open_session() as session:
        session.store(Company("Acme"), "companies/1")
        session.save_changes()
    details = store.operations.send(PutAttachmentOperation("companies/1", "file.bin", b"\x00\x01\x02", "app/bin"))
    assert (details.name, details.size, details.content_type, details.document_id) == (
        "file.bin", 3, "app/bin", "companies/1")
    assert read(store, "companies/1", "file.bin") == b"\x00\x01\x02"
    store.operations.send(DeleteAttachmentOperation("companies/1", "file.bin"))
    with store.open_session() as session:
        assert not session.advanced.attachments.exists("companies/1", "file.bin")


def test_a_multipart_batch_whose_parts_do_not_match_is_refused(store: DocumentStore,
                                                                server: BackgroundServer) -> None:
    with store.open_session() as session:
        session.store(Company("Acme"), "companies/1")
        session.save_changes()
    commands = '{"Commands": [{"Id": "companies/1", "Name": "a", "Type": "AttachmentPUT"}]}'
    files: dict[str, Any] = {"main": (None, commands), "a": ("a", b"1", "text/plain"), "b": ("b", b"2", "text/plain")}
    response = httpx.post(f"{server.url}/databases/{store.database}/bulk_docs", files=files)
    assert response.status_code == 400 and "2 attachment streams but its commands use 1" in response.json()["Error"]
    with store.open_session() as session:
        assert not session.advanced.attachments.exists("companies/1", "a")
