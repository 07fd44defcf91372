"""Patching documents inside a write transaction, as RavenDB's ``PatchDocumentCommand`` does.

- The script runs with ``this`` bound to the document; a document equal to the original afterwards
  is ``NotModified`` and is not written. The script's ``put``/``del`` are applied in the same
  transaction, before the patched document.
- A missing document: ``CreateIfMissing`` is stored as given (``Created``), else ``PatchIfMissing``
  runs on an empty document (``Created``), else ``DocumentDoesNotExist``.
- An expected change vector that does not match fails with a concurrency error, or gives ``Skipped``
  when the client asked to skip on mismatch.
- A script error raises a `ScriptError`, which aborts the transaction: nothing is written.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.documents.patching.direct import direct_script
from rookdb.documents.patching.engine import PatchEngine, PatchOutcome, PatchRun
from rookdb.documents.patching.json_patch import apply_json_patch
from rookdb.documents.patching.request import PatchRequest
from rookdb.errors import BadRequestError, ConcurrencyError, ScriptError
from rookdb.storage.base import StoredDocument, WriteTransaction
from rookdb.storage.javascript_shape import js_shaped

__all__ = ["PatchResult", "Patcher"]

PATCHED = "Patched"
NOT_MODIFIED = "NotModified"
CREATED = "Created"
SKIPPED = "Skipped"
DOES_NOT_EXIST = "DocumentDoesNotExist"


@dataclass
class PatchResult:
    """The outcome of patching one document (``PatchResult`` on the wire)."""

    id: str
    status: str
    document: StoredDocument | None = None
    original: dict[str, Any] | None = None
    output: list[str] = field(default_factory=list)

    def modified_document(self) -> dict[str, Any] | None:
        return orjson.loads(self.document.body) if self.document is not None else None

    def to_json(self, *, debug: bool = False) -> dict[str, Any]:
        """``PatchOperation``'s answer."""
        body: dict[str, Any] = {"Status": self.status, "ModifiedDocument": self.modified_document()}
        if self.document is not None:
            body.update({"LastModified": self.document.last_modified, "ChangeVector": self.document.change_vector,
                         "Collection": self.document.collection})
        if debug:
            body["OriginalDocument"] = self.original
            body["Debug"] = {"Info": self.output, "Actions": None}
        return body

    def to_batch_json(self, kind: str, *, return_document: bool) -> dict[str, Any]:
        """The entry of a ``PATCH``/``JsonPatch`` command in a ``bulk_docs`` answer."""
        body: dict[str, Any] = {
            "Id": self.id, "Type": kind, "PatchStatus": self.status,
            "ChangeVector": self.document.change_vector if self.document is not None else None,
            "LastModified": self.document.last_modified if self.document is not None else None,
            "Debug": None,
        }
        if return_document:
            body["ModifiedDocument"] = self.modified_document()
        return body


def _check_change_vector(document: StoredDocument, expected: str | None, skip_on_mismatch: bool) -> bool:
    """True when the patch may run; False to skip it; raises on a mismatch that is not skipped."""
    if expected is None or expected == document.change_vector:
        return True
    if skip_on_mismatch:
        return False
    raise ConcurrencyError(
        f"Could not patch document '{document.id}' because non current change vector was used: the document "
        f"has change vector {document.change_vector}, but the patch expected {expected}.")


class _DryRun(Exception):
    """Rolls back a patch run with ``test`` once its result is known."""

    def __init__(self, result: PatchResult) -> None:
        super().__init__("dry run")
        self.result = result


class Patcher:
    """Patches the documents of one database with the server's patch engine."""

    def __init__(self, database: Database, engine: PatchEngine) -> None:
        self.database = database
        self.engine = engine

    def _resolver(self, tx: WriteTransaction) -> Any:
        def resolve(ids: Sequence[str], keys: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
            documents: dict[str, Any] = {}
            for doc_id in ids:
                found = tx.get(doc_id)
                documents[doc_id.lower()] = orjson.loads(found.body) if found is not None else None
            values: dict[str, Any] = {}
            for key in keys:
                value = tx.get_compare_exchange(key)
                values[key.lower()] = orjson.loads(value.value).get("Object") if value is not None else None
            return documents, values

        return resolve

    def run(self, tx: WriteTransaction, request: PatchRequest, documents: Sequence[dict[str, Any]],
            shaped: Sequence[bool] | None = None) -> list[PatchOutcome]:
        """Run a script on documents (``this`` each, changed in place) inside ``tx``; writes nothing.
        Scripts that only set, delete or add to fields run here; the rest, and the documents they
        cannot handle alone, run in the JavaScript host. ``shaped[i]``: document i is `js_shaped`."""
        direct = direct_script(request.script, request.values)
        if direct is None:
            return self.engine.run(request.script, request.values, [PatchRun(document) for document in documents],
                                   self._resolver(tx))
        shapes = shaped if shaped is not None else [False] * len(documents)
        outcomes = [PatchOutcome(document=document) if direct.apply(document, shaped=shape) else None
                    for document, shape in zip(documents, shapes, strict=True)]
        hosted = [index for index, outcome in enumerate(outcomes) if outcome is None]
        if hosted:
            ran = self.engine.run(request.script, request.values, [PatchRun(documents[index]) for index in hosted],
                                  self._resolver(tx))
            for index, outcome in zip(hosted, ran, strict=True):
                outcomes[index] = outcome
        return [outcome for outcome in outcomes if outcome is not None]

    def apply_writes(self, tx: WriteTransaction, outcome: PatchOutcome) -> None:
        """Apply what the script asked with ``put`` and ``del``, in its order."""
        for write in outcome.writes:
            if write.get("Type") == "DELETE":
                self.database.delete_in(tx, str(write["Id"]), write.get("ChangeVector"))
            else:
                self.database.put_in(tx, write.get("Id") or None, write.get("Document"), write.get("ChangeVector"))

    def save(self, tx: WriteTransaction, existing: StoredDocument, original: dict[str, Any],
             outcome: PatchOutcome) -> PatchResult:
        """Store a document a script changed (``NotModified`` when it did not)."""
        if outcome.error is not None:
            raise outcome.error
        self.apply_writes(tx, outcome)
        patched = outcome.document
        if not isinstance(patched, dict):
            raise ScriptError(f"The patch script left document '{existing.id}' as something else than an object.")
        if _same_json(patched, original):
            # Only the script's own writes (put/del of other ids, or of this one) can have changed it.
            current = (tx.get(existing.id) or existing) if outcome.writes else existing
            return PatchResult(existing.id, NOT_MODIFIED, current, original, outcome.output)
        if outcome.writes:
            stored = self.database.put_in(tx, existing.id, patched).document
        else:
            stored = self.database.replace_in(tx, existing, patched).document
        return PatchResult(stored.id, PATCHED, stored, original, outcome.output)

    def save_many(self, tx: WriteTransaction, documents: Sequence[StoredDocument], originals: Sequence[dict[str, Any]],
                  outcomes: Sequence[PatchOutcome]) -> int:
        """Store what a script did to many documents (patch by query); how many it changed. Documents
        whose scripts wrote nothing else are replaced in one batch."""
        if any(outcome.error is None and outcome.writes for outcome in outcomes):  # keep the scripts' order
            return sum(self.save(tx, document, original, outcome).status != NOT_MODIFIED
                       for document, original, outcome in zip(documents, originals, outcomes, strict=True))
        changed: list[tuple[StoredDocument, Any]] = []
        for document, original, outcome in zip(documents, originals, outcomes, strict=True):
            if outcome.error is not None:
                raise outcome.error
            if not isinstance(outcome.document, dict):
                raise ScriptError(f"The patch script left document '{document.id}' as something else than an "
                                  "object.")
            if not _same_json(outcome.document, original):
                changed.append((document, outcome.document))
        self.database.replace_many_in(tx, changed)
        return len(changed)

    def patch(self, doc_id: str, patch: PatchRequest, *, patch_if_missing: PatchRequest | None = None,
              expected_change_vector: str | None = None, skip_on_mismatch: bool = False, test: bool = False
              ) -> PatchResult:
        """Patch one document in its own transaction (``PatchOperation``); ``test`` writes nothing."""
        try:
            with self.database.storage.write() as tx:
                result = self.patch_in(tx, doc_id, patch, patch_if_missing=patch_if_missing,
                                       expected_change_vector=expected_change_vector,
                                       skip_on_mismatch=skip_on_mismatch)
                if test:
                    raise _DryRun(result)
        except _DryRun as dry_run:
            return dry_run.result
        return result

    def json_patch(self, doc_id: str, operations: Sequence[Any]) -> PatchResult:
        """Apply a JSON patch to one document in its own transaction (``JsonPatchOperation``)."""
        with self.database.storage.write() as tx:
            result = self.json_patch_in(tx, doc_id, operations)
        return result

    def patch_in(self, tx: WriteTransaction, doc_id: str, patch: PatchRequest, *,
                 patch_if_missing: PatchRequest | None = None, create_if_missing: dict[str, Any] | None = None,
                 expected_change_vector: str | None = None, skip_on_mismatch: bool = False) -> PatchResult:
        """Patch one document inside an open transaction."""
        existing = tx.get(doc_id)
        if existing is None:
            return self._missing(tx, doc_id, patch_if_missing, create_if_missing)
        if not _check_change_vector(existing, expected_change_vector, skip_on_mismatch):
            return PatchResult(existing.id, SKIPPED)
        original = orjson.loads(existing.body)
        (outcome,) = self.run(tx, patch, [orjson.loads(existing.body)], [js_shaped(existing.body)])
        return self.save(tx, existing, original, outcome)

    def _missing(self, tx: WriteTransaction, doc_id: str, patch_if_missing: PatchRequest | None,
                 create_if_missing: dict[str, Any] | None) -> PatchResult:
        if create_if_missing is not None:
            if not isinstance(create_if_missing, dict):
                raise BadRequestError("CreateIfMissing must be a document (a JSON object).")
            stored = self.database.put_in(tx, doc_id, copy.deepcopy(create_if_missing)).document
            return PatchResult(stored.id, CREATED, stored)
        if patch_if_missing is None:
            return PatchResult(doc_id, DOES_NOT_EXIST)
        (outcome,) = self.run(tx, patch_if_missing, [{"@metadata": {}}])
        if outcome.error is not None:
            raise outcome.error
        self.apply_writes(tx, outcome)
        if not isinstance(outcome.document, dict):
            raise ScriptError(f"The patch script left document '{doc_id}' as something else than an object.")
        stored = self.database.put_in(tx, doc_id, outcome.document).document
        return PatchResult(stored.id, CREATED, stored, None, outcome.output)

    def json_patch_in(self, tx: WriteTransaction, doc_id: str, operations: Sequence[Any]) -> PatchResult:
        """Apply a JSON patch (RFC 6902) to one document inside an open transaction."""
        existing = tx.get(doc_id)
        if existing is None:
            return PatchResult(doc_id, DOES_NOT_EXIST)
        original = orjson.loads(existing.body)
        patched = apply_json_patch(original, operations)
        if _same_json(patched, original):
            return PatchResult(existing.id, NOT_MODIFIED, existing, original)
        stored = self.database.put_in(tx, existing.id, patched).document
        return PatchResult(stored.id, PATCHED, stored, original)


def _same_json(left: Any, right: Any) -> bool:
    """JSON equality. Python's ``==`` takes ``true`` for ``1``, so a patch from one to the other was lost; it
    still decides first, since what it tells apart JSON tells apart too."""
    return left == right and _strictly_same(left, right)


def _strictly_same(left: Any, right: Any) -> bool:
    if isinstance(left, bool) or isinstance(right, bool):
        return left is right
    if isinstance(left, dict):
        return all(_strictly_same(value, right[key]) for key, value in left.items())
    if isinstance(left, list):
        return all(_strictly_same(a, b) for a, b in zip(left, right, strict=True))
    return True
