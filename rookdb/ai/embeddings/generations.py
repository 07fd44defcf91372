"""Generations of a task's embeddings: what lets a task move to another model without downtime.

A task's embeddings are made by one connection string; they are its *generation* (numbered from 0).
Updating the task to another connection string starts a migration: the generation that serves
queries keeps following the change feed with the old connection string, while the next generation
is built from the start of the feed with the new one, side by side. When the new generation covers
every document the database swaps them in one transaction and removes the old one.

In an embeddings document the serving generation's section is named by the task identifier, as
RavenDB names it; a generation being built is staged under ``<identifier>@<generation>``. Every
section of generation 1 or later carries its number (``@generation``), so a reader finds the section
of the generation it wants whichever name it has at that moment (a swap renames sections later, in
batches). State keys of generation 0 are the task's own (``position``, ``stats``, ``errors``); later
generations keep theirs under ``g<generation>/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from rookdb.ai.embeddings.layout import (
    GENERATION_KEY,
    STAGED_SEPARATOR,
    VECTOR_CONTENT_TYPE,
    embeddings_collection,
    generation_of,
    section_hashes,
    sections_of,
    task_sections,
)
from rookdb.storage.base import DocumentWrite, StoredDocument, WriteTransaction

__all__ = ["Generation", "SectionCleanup", "TaskGenerations", "normalize_sections", "sections_write", "store_sections"]



@dataclass(frozen=True)
class Generation:
    """One generation of a task's embeddings, as a worker builds or keeps it.

    ``connection_string_name`` None means the task's own (the generation being built, or the only
    one); the serving generation of a migration names the connection string it was made with.
    """

    number: int = 0
    connection_string_name: str | None = None
    staged: bool = False

    def section(self, identifier: str) -> str:
        """The section name it writes: the identifier, or ``<identifier>@<n>`` while staged."""
        return f"{identifier}{STAGED_SEPARATOR}{self.number}" if self.staged else identifier

    def state_part(self, part: str) -> str:
        """The state key part of ``part`` (``position``, ``stats``, ``errors``) for this generation."""
        return part if self.number == 0 else f"g{self.number}/{part}"

    def marker(self) -> dict[str, int]:
        """What a section of this generation carries besides its fields."""
        return {GENERATION_KEY: self.number} if self.number else {}


def store_sections(tx: WriteTransaction, doc_id: str, source_collection: str, existing: StoredDocument | None,
                   before: Mapping[str, Any], body: dict[str, Any], attachments: Mapping[str, bytes]) -> None:
    """Write ``body`` as embeddings document ``doc_id`` (``before`` is what it held): see ``sections_write``."""
    write = sections_write(doc_id, source_collection, existing, before, body, attachments)
    if write is not None:
        tx.write_many([write])


def sections_write(doc_id: str, source_collection: str, existing: StoredDocument | None, before: Mapping[str, Any],
                   body: dict[str, Any], attachments: Mapping[str, bytes]) -> DocumentWrite | None:
    """The write that stores ``body`` as embeddings document ``doc_id`` (``before`` is what it held):
    it adds the vector attachments its sections now reference (from ``attachments``), removes those none
    references any more, and deletes the document when no section remains. None when nothing changed."""
    old_sections, new_sections = sections_of(before), sections_of(body)
    if old_sections == new_sections and existing is not None:
        return None
    collection = embeddings_collection(source_collection)
    if not new_sections:
        # A delete takes the document's attachments with it.
        return DocumentWrite(doc_id, collection, None) if existing is not None else None
    old_hashes = {digest for section in old_sections.values() for digest in section_hashes(section)}
    new_hashes = {digest for section in new_sections.values() for digest in section_hashes(section)}
    metadata = body.get("@metadata")
    body["@metadata"] = {**(metadata if isinstance(metadata, dict) else {}), "@collection": collection}
    added = {digest: (VECTOR_CONTENT_TYPE, attachments[digest]) for digest in sorted(new_hashes - old_hashes)}
    return DocumentWrite(doc_id, collection, body, added, sorted(old_hashes - new_hashes))


def normalize_sections(tx: WriteTransaction, document: StoredDocument, source_collection: str, identifier: str,
                       keep: frozenset[int], serving: int | None) -> None:
    """Drop the sections of task ``identifier`` whose generation is not in ``keep``, and name the
    ``serving`` generation's section by the identifier (a swap's, a cancelled or deleted migration's
    clean-up). Vector attachments move with their section: renaming needs no new attachment."""
    before: dict[str, Any] = orjson.loads(document.body)
    body = dict(before)
    for key, section in task_sections(before, identifier).items():
        if generation_of(section) not in keep:
            body.pop(key)
    if serving is not None:
        for key, section in task_sections(body, identifier).items():
            if generation_of(section) == serving and key != identifier:
                body.pop(key)
                body[identifier] = section
    store_sections(tx, document.id, source_collection, document, before, body, {})


@dataclass(frozen=True)
class TaskGenerations:
    """Where a task's embeddings are: ``current`` is the generation of the task's connection string;
    while migrating, ``serving`` (made with another connection string) still answers queries."""

    current: int = 0
    serving: Generation | None = None
    started_at: str | None = None
    last: int = 0
    """The highest generation number ever used: a cancelled one is never reused (its clean-up may
    still be running)."""

    def next_number(self) -> int:
        return max(self.current, self.last) + 1

    @property
    def migrating(self) -> bool:
        return self.serving is not None

    def serving_generation(self) -> Generation:
        return self.serving if self.serving is not None else Generation(self.current)

    def building(self) -> Generation | None:
        """The generation being built side by side, while migrating."""
        return Generation(self.current, staged=True) if self.serving is not None else None

    def live(self) -> tuple[int, ...]:
        """Generation numbers with embeddings to keep: the serving one first."""
        return (self.serving.number, self.current) if self.serving is not None else (self.current,)

    def to_json(self) -> dict[str, Any]:
        migration = None if self.serving is None else {
            "FromConnectionStringName": self.serving.connection_string_name,
            "FromGeneration": self.serving.number, "StartedAt": self.started_at}
        return {"Generation": self.current, "LastGeneration": max(self.last, self.current), "Migration": migration}

    @classmethod
    def from_json(cls, data: Any) -> TaskGenerations:
        if not isinstance(data, dict):
            return cls()
        migration = data.get("Migration")
        serving = None
        if isinstance(migration, dict):
            serving = Generation(int(migration.get("FromGeneration") or 0),
                                 str(migration.get("FromConnectionStringName")))
        return cls(int(data.get("Generation") or 0), serving,
                   migration.get("StartedAt") if isinstance(migration, dict) else None,
                   int(data.get("LastGeneration") or 0))


@dataclass(frozen=True)
class SectionCleanup:
    """Sections of a task to remove from a collection's embeddings documents (after a swap, or a
    cancelled or deleted migration): every generation not in ``keep`` goes, and the ``serving`` one
    is named by the identifier."""

    collection: str
    identifier: str
    keep: frozenset[int]
    serving: int | None

    def to_json(self) -> dict[str, Any]:
        return {"Collection": self.collection, "Identifier": self.identifier, "Keep": sorted(self.keep),
                "Serving": self.serving}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SectionCleanup:
        serving = data.get("Serving")
        return cls(str(data["Collection"]), str(data["Identifier"]), frozenset(int(n) for n in data["Keep"]),
                   int(serving) if serving is not None else None)
