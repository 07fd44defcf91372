"""Loading documents by id with their includes, encoded for the wire without re-serializing."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.storage.base import StoredDocument

__all__ = ["LoadResult", "include_ids", "load_documents", "resolve_includes"]


@dataclass
class LoadResult:
    documents: list[StoredDocument | None]
    includes: dict[str, StoredDocument]

    def encoded_results(self, metadata_only: bool = False) -> Iterator[bytes]:
        for document in self.documents:
            if document is None:
                yield b"null"
            elif metadata_only:
                metadata = orjson.loads(document.body).get("@metadata", {})
                yield orjson.dumps({"@metadata": metadata})
            else:
                yield document.body

    def encoded_includes(self) -> Iterator[bytes]:
        for document in self.includes.values():
            yield orjson.dumps(document.id) + b":" + document.body


def include_ids(value: Any, path: str) -> list[str]:
    """Ids referenced at ``path`` (``Supplier``, ``Lines[].Product``, ``Address.Ref``) of a document."""
    current: list[Any] = [value]
    for segment in path.split("."):
        is_array = segment.endswith("[]")
        name = segment[:-2] if is_array else segment
        following: list[Any] = []
        for item in current:
            if isinstance(item, dict) and name in item:
                found = item[name]
                if isinstance(found, list):
                    following.extend(found)
                else:
                    following.append(found)
        current = following
    ids: list[str] = []
    for item in current:
        if isinstance(item, str):
            ids.append(item)
        elif isinstance(item, list):
            ids.extend(element for element in item if isinstance(element, str))
    return ids


def resolve_includes(database: Database, bodies: Sequence[Any], paths: Sequence[str],
                     already: set[str]) -> dict[str, StoredDocument]:
    """Documents referenced by ``paths`` in ``bodies`` that are not in ``already`` (lower-cased ids)."""
    wanted: list[str] = []
    for body in bodies:
        for path in paths:
            for doc_id in include_ids(body, path):
                if doc_id.lower() not in already:
                    already.add(doc_id.lower())
                    wanted.append(doc_id)
    found = database.get_many(wanted) if wanted else []
    return {document.id: document for document in found if document is not None}


def load_documents(database: Database, ids: Sequence[str], includes: Sequence[str]) -> LoadResult:
    documents = database.get_many(ids)
    included: dict[str, StoredDocument] = {}
    if includes:
        present = [document for document in documents if document is not None]
        bodies = [orjson.loads(document.body) for document in present]
        already = {document.id.lower() for document in present}
        included = resolve_includes(database, bodies, includes, already)
    return LoadResult(documents, included)
