"""Patch and delete by query (``PatchByQueryOperation``, ``DeleteByQueryOperation``): long-running
operations over the documents a query matches.

A patch query ends with ``update { <script> }``; inside it ``this`` (or the query's alias) is the
document and ``$name`` the query's parameters. The matching ids are taken once, then the documents
are patched or deleted in batches, each batch in its own transaction, as RavenDB does: a failure
stops the operation, the batches before it stay written. A batch holds the database's writer for about
``SLICE_S``: its size follows the pace of the batches before it, so a quick edit takes few commits and a
slow script still lets the requests that write in between.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.documents.operations import Operation
from rookdb.documents.patching.field_edits import field_edits
from rookdb.documents.patching.patcher import Patcher
from rookdb.documents.patching.request import PatchRequest
from rookdb.errors import BadRequestError, InvalidQueryError
from rookdb.query.parser import parse_query
from rookdb.storage.base import FieldEdit
from rookdb.storage.javascript_shape import js_shaped

__all__ = ["SLICE_S", "QueryMatches", "delete_by_query", "patch_batch", "patch_by_query", "split_update"]

SLICE_S = 0.05
"""How long one batch should take (one transaction, the writer held throughout)."""
_FIRST_BATCH = 256
_SMALLEST_BATCH = 16
_LARGEST_BATCH = 16_384
"""Bounds the ids bound to one statement and the memory of one batch's commit notifications."""
_WORD = re.compile(r"[A-Za-z_$][\w$]*")
_ALIAS = re.compile(r"^[A-Za-z_$][\w$]*$")

QueryMatches = Callable[[str, dict[str, Any]], list[str]]
"""Runs the query part of an operation (without ``update``) and returns the ids it matches."""


def _closing_brace(text: str, opening: int) -> int:
    """The index of the ``}`` that closes the ``{`` at ``opening`` (strings and comments skipped)."""
    depth = 0
    index = opening
    while index < len(text):
        char = text[index]
        if char in "'\"`":
            end = index + 1
            while end < len(text) and text[end] != char:
                end += 2 if text[end] == "\\" else 1
            index = end
        elif text.startswith("//", index):
            newline = text.find("\n", index)
            index = len(text) if newline < 0 else newline
        elif text.startswith("/*", index):
            end = text.find("*/", index + 2)
            index = len(text) if end < 0 else end + 1
        elif char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    raise InvalidQueryError("The update clause's '{' is never closed.")


def split_update(query: str) -> tuple[str, str | None]:
    """(the query without its ``update { ... }`` clause, the script, or None without one)."""
    index = 0
    while index < len(query):
        char = query[index]
        if char in "'\"":
            end = query.find(char, index + 1)
            index = len(query) if end < 0 else end + 1
            continue
        if char == "{":
            index = _closing_brace(query, index) + 1
            continue
        match = _WORD.match(query, index)
        if match is None:
            index += 1
            continue
        if match.group().lower() == "update" and (index == 0 or not query[index - 1].isalnum()):
            rest = query[match.end():]
            opening = match.end() + len(rest) - len(rest.lstrip())
            if opening < len(query) and query[opening] == "{":
                closing = _closing_brace(query, opening)
                if query[closing + 1:].strip():
                    raise InvalidQueryError("Nothing may follow the update clause of a query.", query)
                return query[:index].rstrip(), query[opening + 1:closing]
        index = match.end()
    return query, None


@dataclass
class _Progress:
    total: int
    processed: int = 0

    def result(self, query: str) -> dict[str, Any]:
        return {"Total": self.processed, "DocumentsProcessed": self.processed, "AttachmentsProcessed": 0,
                "CountersProcessed": 0, "TimeSeriesProcessed": 0, "Details": [], "Query": query}

    def progress(self) -> dict[str, Any]:
        return {"Processed": self.processed, "Total": self.total}


def _query_body(raw: Any) -> tuple[str, dict[str, Any]]:
    """The query of ``{"Query": <IndexQuery>}`` (patch) or of an ``IndexQuery`` itself (delete)."""
    query = raw.get("Query") if isinstance(raw, dict) else None
    if isinstance(query, str):
        query = raw
    if not isinstance(query, dict) or not isinstance(query.get("Query"), str) or not query["Query"].strip():
        raise BadRequestError('The body must be {"Query": {"Query": "<RQL>", "QueryParameters": {...}}}.')
    parameters = query.get("QueryParameters") or {}
    if not isinstance(parameters, dict):
        raise BadRequestError("QueryParameters must be an object.")
    return query["Query"], parameters


def _next_size(size: int, done: int, elapsed: float) -> int:
    """The size of the batch after one of ``done`` documents that took ``elapsed`` seconds (``size`` asked):
    ``SLICE_S`` at that pace, at most twice the size before (one quick batch proves little)."""
    paced = int(done * SLICE_S / elapsed) if elapsed > 0 else _LARGEST_BATCH
    return max(_SMALLEST_BATCH, min(paced, 2 * size, _LARGEST_BATCH))


def _batches(ids: Sequence[str], operation: Operation, write: Callable[[Sequence[str]], object]) -> Iterator[int]:
    """Run ``write`` over ``ids`` in batches sized by ``_next_size`` (checking for a kill before each one);
    yields the count done after each batch."""
    size = _FIRST_BATCH
    done = 0
    while done < len(ids):
        operation.check()
        batch = ids[done:done + size]
        began = time.perf_counter()
        write(batch)
        size = _next_size(size, len(batch), time.perf_counter() - began)
        done += len(batch)
        yield done


def patch_batch(patcher: Patcher, request: PatchRequest, ids: Sequence[str],
                edits: Sequence[FieldEdit] | None = None) -> int:
    """Patch one batch in one transaction; returns how many documents it wrote. ``edits``: the script as
    ``field_edits`` gives it, applied inside the storage when it can (the same result)."""
    lower_ids = list(dict.fromkeys(doc_id.lower() for doc_id in ids))
    with patcher.database.storage.write() as tx:
        written = tx.edit_fields(lower_ids, edits) if edits else None
        if written is None:
            stored = [found for found in tx.get_many(lower_ids) if found is not None]
            originals = [orjson.loads(document.body) for document in stored]
            # Parsing the stored JSON again is several times faster than a deep copy of the parsed one.
            outcomes = patcher.run(tx, request, [orjson.loads(document.body) for document in stored],
                                   [js_shaped(document.body) for document in stored])
            written = patcher.save_many(tx, stored, originals, outcomes)
    # No ``notify_changed`` here: the storage's commit listener wakes the services after every commit
    # that wrote a document, and a second wake-up per batch costs each service's thread a turn.
    return written


def patch_by_query(patcher: Patcher, body: Any, matches: QueryMatches) -> Callable[[Operation], Any]:
    """Validate a ``PATCH /queries`` body now and return the operation's work."""
    text, parameters = _query_body(body)
    query, script = split_update(text)
    if script is None or not script.strip():
        raise BadRequestError("A patch by query needs an update clause: from X where ... update { ... }.")
    alias = _alias(query)
    if alias is not None:
        # Kept on the script's first line so that the line numbers in errors stay the script's own.
        script = f"var {alias} = this; {script}"
    request = PatchRequest(script, parameters)
    edits = field_edits(request)

    def work(operation: Operation) -> dict[str, Any]:
        ids = matches(query, parameters)
        progress = _Progress(len(ids))
        for progress.processed in _batches(ids, operation, lambda batch: patch_batch(patcher, request, batch, edits)):
            operation.report(progress.progress())
        return progress.result(text)

    return work


def delete_by_query(database: Database, body: Any, matches: QueryMatches) -> Callable[[Operation], Any]:
    """Validate a ``DELETE /queries`` body now and return the operation's work."""
    text, parameters = _query_body(body)
    query, script = split_update(text)
    if script is not None:
        raise BadRequestError("A delete by query cannot have an update clause.")
    parse_query(query)

    def work(operation: Operation) -> dict[str, Any]:
        ids = matches(query, parameters)
        progress = _Progress(len(ids))

        def delete_batch(batch: Sequence[str]) -> None:
            with database.storage.write() as tx:
                for doc_id in batch:
                    database.delete_in(tx, doc_id)

        for progress.processed in _batches(ids, operation, delete_batch):
            operation.report(progress.progress())
        return progress.result(text)

    return work


def _alias(query: str) -> str | None:
    alias = parse_query(query).source.alias
    if alias is not None and not _ALIAS.match(alias):
        raise InvalidQueryError(f"The alias '{alias}' cannot name the document in an update script.", query)
    return alias
