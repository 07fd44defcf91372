"""Loading documents by id with their includes, encoded for the wire without re-serializing."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.storage.base import CompareExchangeValue, StoredDocument

__all__ = ["LoadResult", "combined_etag", "compare_exchange_includes", "include_compare_exchange", "include_ids",
           "load_documents", "load_starting_with", "resolve_includes", "wildcards"]


@dataclass
class LoadResult:
    documents: list[StoredDocument | None]
    includes: dict[str, StoredDocument]
    compare_exchange: dict[str, CompareExchangeValue | None] | None = None
    """Included compare-exchange values by key (None: none were asked for)."""

    def encoded_results(self, metadata_only: bool = False) -> Iterator[bytes]:
        for document in self.documents:
            if document is None:
                yield b"null"
            elif metadata_only:
                metadata = orjson.loads(document.body).get("@metadata", {})
                yield orjson.dumps({"@metadata": metadata})
            else:
                yield document.body

    def etag(self) -> str:
        """The HTTP ETag of this answer: one document's change vector, else a hash of every change vector
        (missing documents included) that changes whenever one of them does."""
        if len(self.documents) == 1 and self.documents[0] is not None and not self.includes:
            return self.documents[0].change_vector
        digest = hashlib.blake2b(digest_size=16)
        for document in [*self.documents, *self.includes.values()]:
            digest.update(b"-" if document is None else document.change_vector.encode("utf-8"))
            digest.update(b"|")
        for key, value in (self.compare_exchange or {}).items():
            digest.update(f"{key}:{value.index if value is not None else -1}|".encode())
        return digest.hexdigest()

    def compare_exchange_includes(self) -> dict[str, Any] | None:
        """``CompareExchangeValueIncludes`` (see ``compare_exchange_includes``)."""
        return None if self.compare_exchange is None else compare_exchange_includes(self.compare_exchange)

    def encoded_includes(self) -> Iterator[bytes]:
        for document in self.includes.values():
            yield orjson.dumps(document.id) + b":" + document.body


def compare_exchange_includes(values: dict[str, CompareExchangeValue | None]) -> dict[str, Any]:
    """``CompareExchangeValueIncludes``: ``{key: {"Key", "Index", "Value"}}`` (``Index`` -1 when missing)."""
    return {key: {"Key": key, "Index": -1, "Value": None} if value is None
            else {"Key": value.key, "Index": value.index, "Value": orjson.loads(value.value)}
            for key, value in values.items()}


def include_compare_exchange(database: Database, keys: Sequence[str]) -> dict[str, CompareExchangeValue | None]:
    """The compare-exchange values ``keys`` name, by key as asked (None where there is none)."""
    return dict(zip(keys, database.storage.compare_exchange(keys), strict=True)) if keys else {}


def combined_etag(etag: int, parts: Sequence[int]) -> int:
    """``etag`` mixed with ``parts`` into a positive 63-bit number that changes when any of them does."""
    if not parts:
        return etag
    digest = hashlib.blake2b(",".join(map(str, [etag, *parts])).encode(), digest_size=8).digest()
    return int.from_bytes(digest) >> 1


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


def load_documents(database: Database, ids: Sequence[str], includes: Sequence[str],
                   compare_exchange_paths: Sequence[str] = ()) -> LoadResult:
    """Documents by id, with the documents and compare-exchange values their ``include`` paths name."""
    documents = database.get_many(ids)
    included: dict[str, StoredDocument] = {}
    present = [document for document in documents if document is not None]
    bodies = [orjson.loads(document.body) for document in present] if includes or compare_exchange_paths else []
    if includes:
        already = {document.id.lower() for document in present}
        included = resolve_includes(database, bodies, includes, already)
    values: dict[str, CompareExchangeValue | None] | None = None
    if compare_exchange_paths:
        keys = list(dict.fromkeys(key for body in bodies for path in compare_exchange_paths
                                  for key in include_ids(body, path)))
        values = include_compare_exchange(database, keys)
    return LoadResult(documents, included, values)


def wildcards(patterns: str | None) -> re.Pattern[str] | None:
    """RavenDB's ``matches``/``exclude`` for ids: ``|``-separated patterns where ``*`` is any run of
    characters and ``?`` one character, matched case-insensitively against what follows the prefix."""
    if not patterns:
        return None
    alternatives = ["".join(".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern)
                    for pattern in patterns.split("|") if pattern]
    return re.compile("(?:" + "|".join(alternatives) + r")\Z", re.IGNORECASE | re.DOTALL) if alternatives else None


_PREFIX_PAGE = 1024


def load_starting_with(database: Database, prefix: str, *, matches: str | None = None, exclude: str | None = None,
                       start: int = 0, page_size: int = 25, start_after: str | None = None) -> list[StoredDocument]:
    """Documents whose id starts with ``prefix`` (ordered by id) that ``matches`` and not ``exclude``;
    ``start`` skips matching documents, ``start_after`` begins after an id."""
    wanted, unwanted = wildcards(matches), wildcards(exclude)
    if wanted is None and unwanted is None:
        return database.storage.list_by_prefix(prefix, start, page_size, start_after)
    found: list[StoredDocument] = []
    skipped = 0
    after = start_after
    while len(found) < page_size:
        page = database.storage.list_by_prefix(prefix, 0, _PREFIX_PAGE, after)
        for document in page:
            rest = document.id[len(prefix):]
            if (wanted is not None and not wanted.match(rest)) or (unwanted is not None and unwanted.match(rest)):
                continue
            if skipped < start:
                skipped += 1
                continue
            found.append(document)
            if len(found) == page_size:
                break
        if len(page) < _PREFIX_PAGE:
            break
        after = page[-1].id
    return found
