"""A session's ``save_changes`` (``POST /bulk_docs``): every command in one transaction.

Commands: ``PUT``, ``DELETE`` (``IdPrefixed`` deletes by prefix), ``PATCH``, ``BatchPATCH``,
``JsonPatch``, ``AttachmentPUT``/``DELETE``/``COPY``/``MOVE``, ``CompareExchangePUT``/``DELETE`` and
``BatchTrackChanges``. Results are aligned with the commands. Any failure (a script error, a
concurrency violation, a compare-exchange index that does not match in a cluster-wide transaction)
aborts the whole batch: nothing is written. Attachment contents arrive beside the commands, one per
``AttachmentPUT`` in order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from rookdb.documents import attachments, compare_exchange
from rookdb.documents.database import Database
from rookdb.documents.patching.patcher import Patcher
from rookdb.documents.patching.request import parse_patch_request
from rookdb.errors import BadRequestError, ConcurrencyError
from rookdb.storage.base import WriteTransaction

__all__ = ["AttachmentStream", "BatchResult", "run_batch"]

CLUSTER_WIDE = "ClusterWide"
_OTHER_FEATURES = {"Counters", "TimeSeries", "ForceRevisionCreation", "TIME_SERIES_COPY"}


@dataclass(frozen=True)
class AttachmentStream:
    """The content of one ``AttachmentPUT``, as the multipart body carried it."""

    content: bytes
    content_type: str | None = None


@dataclass(frozen=True)
class BatchResult:
    results: list[dict[str, Any]]
    transaction_index: int

    def to_json(self) -> dict[str, Any]:
        return {"Results": self.results, "TransactionIndex": self.transaction_index}


def _string(command: dict[str, Any], field: str, index: int, *, required: bool = True) -> str | None:
    value = command.get(field)
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise BadRequestError(f"Commands[{index}].{field} must be a {'non-empty ' if required else ''}string.")
    return value


class _Batch:
    def __init__(self, database: Database, patcher: Patcher, tx: WriteTransaction, cluster_wide: bool,
                 streams: Sequence[AttachmentStream]) -> None:
        self.database = database
        self.patcher = patcher
        self.tx = tx
        self.cluster_wide = cluster_wide
        self.streams = list(streams)
        self.next_stream = 0
        self.compare_exchange_failures: list[str] = []

    def run(self, index: int, command: Any) -> dict[str, Any]:
        if not isinstance(command, dict):
            raise BadRequestError(f"Commands[{index}] must be a JSON object.")
        kind = command.get("Type")
        handler = getattr(self, f"_{kind}", None) if isinstance(kind, str) else None
        if handler is None:
            known = "is another feature's" if kind in _OTHER_FEATURES else "is not supported"
            raise BadRequestError(f"Commands[{index}]: command type {kind!r} {known}.")
        result: dict[str, Any] = handler(index, command)
        return result

    def _PUT(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        if "Document" not in command:
            raise BadRequestError(f"Commands[{index}] (PUT) has no Document.")
        put = self.database.put_in(self.tx, _string(command, "Id", index, required=False),
                                   command["Document"], _string(command, "ChangeVector", index, required=False))
        return {"Type": "PUT", **put.to_json()}

    def _DELETE(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        doc_id = _string(command, "Id", index)
        assert doc_id is not None
        if command.get("IdPrefixed"):
            for document in self.database.storage.list_by_prefix(doc_id, 0, 2**31):
                self.database.delete_in(self.tx, document.id)
            return {"Type": "DELETE", "Id": doc_id, "Deleted": True}
        deleted = self.database.delete_in(self.tx, doc_id, _string(command, "ChangeVector", index, required=False))
        return {"Type": "DELETE", "Id": doc_id, "Deleted": deleted}

    def _PATCH(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        doc_id = _string(command, "Id", index)
        assert doc_id is not None
        patch = parse_patch_request(command.get("Patch"), f"Commands[{index}].Patch")
        assert patch is not None
        result = self.patcher.patch_in(
            self.tx, doc_id, patch,
            patch_if_missing=parse_patch_request(command.get("PatchIfMissing"), f"Commands[{index}].PatchIfMissing",
                                                 required=False),
            create_if_missing=command.get("CreateIfMissing"),
            expected_change_vector=_string(command, "ChangeVector", index, required=False))
        return result.to_batch_json("PATCH", return_document=bool(command.get("ReturnDocument")))

    def _BatchPATCH(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        patch = parse_patch_request(command.get("Patch"), f"Commands[{index}].Patch")
        assert patch is not None
        patch_if_missing = parse_patch_request(command.get("PatchIfMissing"), f"Commands[{index}].PatchIfMissing",
                                               required=False)
        ids = command.get("Ids")
        if not isinstance(ids, list):
            raise BadRequestError(f"Commands[{index}].Ids must be a list of {{\"Id\", \"ChangeVector\"}}.")
        for entry in ids:
            if not isinstance(entry, dict) or not isinstance(entry.get("Id"), str):
                raise BadRequestError(f"Commands[{index}].Ids must be a list of {{\"Id\", \"ChangeVector\"}}.")
            self.patcher.patch_in(self.tx, entry["Id"], patch, patch_if_missing=patch_if_missing,
                                  expected_change_vector=entry.get("ChangeVector"))
        return {"Type": "BatchPATCH"}

    def _JsonPatch(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        doc_id = _string(command, "Id", index)
        assert doc_id is not None
        body = command.get("JsonPatch")
        operations = body.get("Operations") if isinstance(body, dict) else None
        if not isinstance(operations, list):
            raise BadRequestError(f"Commands[{index}].JsonPatch must be {{\"Operations\": [...]}}.")
        result = self.patcher.json_patch_in(self.tx, doc_id, operations)
        return result.to_batch_json("JsonPatch", return_document=bool(command.get("ReturnDocument")))

    def _AttachmentPUT(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        doc_id, name = _string(command, "Id", index), _string(command, "Name", index)
        assert doc_id is not None and name is not None
        if self.next_stream >= len(self.streams):
            raise BadRequestError(f"Commands[{index}] (AttachmentPUT '{name}') has no content in the request.")
        stream = self.streams[self.next_stream]
        self.next_stream += 1
        content_type = _string(command, "ContentType", index, required=False) or stream.content_type
        change = attachments.put_in(self.tx, doc_id, name, content_type, stream.content,
                                    _string(command, "ChangeVector", index, required=False))
        return change.batch_result("AttachmentPUT")

    def _AttachmentDELETE(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        doc_id, name = _string(command, "Id", index), _string(command, "Name", index)
        assert doc_id is not None and name is not None
        change_vector = attachments.delete_in(self.tx, doc_id, name,
                                              _string(command, "ChangeVector", index, required=False))
        return {"Type": "AttachmentDELETE", "@id": doc_id, "Name": name, "DocumentChangeVector": change_vector}

    def _destination(self, index: int, command: dict[str, Any]) -> tuple[str, str, str, str, str | None]:
        doc_id, name = _string(command, "Id", index), _string(command, "Name", index)
        destination_id = _string(command, "DestinationId", index)
        destination_name = _string(command, "DestinationName", index)
        assert doc_id and name and destination_id and destination_name
        return doc_id, name, destination_id, destination_name, _string(command, "ChangeVector", index, required=False)

    def _AttachmentCOPY(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        return attachments.copy_in(self.tx, *self._destination(index, command)).batch_result("AttachmentCOPY")

    def _AttachmentMOVE(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        doc_id, name, destination_id, destination_name, change_vector = self._destination(index, command)
        moved = attachments.move_in(self.tx, doc_id, name, destination_id, destination_name, change_vector)
        source = self.tx.get(doc_id)
        return {**moved.batch_result("AttachmentMOVE"), "Id": doc_id, "Name": name,
                "DestinationId": destination_id, "DestinationName": destination_name,
                "DocumentChangeVector": source.change_vector if source is not None else moved.document_change_vector}

    def _compare_exchange_allowed(self, index: int) -> None:
        if not self.cluster_wide:
            raise BadRequestError(f"Commands[{index}]: compare-exchange commands need TransactionMode ClusterWide.")

    def _compare_exchange(self, index: int, command: dict[str, Any], kind: str) -> dict[str, Any]:
        if not self.cluster_wide:
            raise BadRequestError(f"Commands[{index}]: compare-exchange commands need TransactionMode ClusterWide.")
        key = _string(command, "Id", index)
        assert key is not None
        expected = command.get("Index", 0)
        if kind == "PUT":
            outcome = compare_exchange.put_in(self.tx, key, command.get("Document"), expected)
        else:
            outcome = compare_exchange.delete_in(self.tx, key, expected)
        if not outcome.successful:
            action = "putting" if kind == "PUT" else "deleting"
            self.compare_exchange_failures.append(
                f"Concurrency check failed for {action} the key '{key}'. Requested index: {expected}, "
                f"actual index: {outcome.index}")
        return {"Type": f"CompareExchange{kind}", "Key": outcome.key, "Index": outcome.index}

    def _CompareExchangePUT(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        return self._compare_exchange(index, command, "PUT")

    def _CompareExchangeDELETE(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        return self._compare_exchange(index, command, "DELETE")

    def _BatchTrackChanges(self, index: int, command: dict[str, Any]) -> dict[str, Any]:
        tracked = command.get("TrackedEntities") or {}
        if not isinstance(tracked, dict):
            raise BadRequestError(f"Commands[{index}].TrackedEntities must map ids to change vectors.")
        for doc_id, change_vector in tracked.items():
            document = self.tx.get(doc_id)
            actual = document.change_vector if document is not None else None
            if actual != change_vector:
                raise ConcurrencyError(
                    f"Document {doc_id} has change vector {actual}, but it was read with change vector "
                    f"{change_vector}. Optimistic concurrency violation, transaction will be aborted.")
        return {"Type": "BatchTrackChanges"}


def run_batch(database: Database, patcher: Patcher, body: Any,
              streams: Sequence[AttachmentStream] = ()) -> BatchResult:
    """Run a ``bulk_docs`` body (``{"Commands": [...], "TransactionMode"}``) in one transaction."""
    commands = body.get("Commands") if isinstance(body, dict) else None
    if not isinstance(commands, list):
        raise BadRequestError("The body must be {\"Commands\": [...]}.")
    cluster_wide = body.get("TransactionMode") == CLUSTER_WIDE
    with database.storage.write() as tx:
        batch = _Batch(database, patcher, tx, cluster_wide, streams)
        results = [batch.run(index, command) for index, command in enumerate(commands)]
        if batch.next_stream != len(streams):
            raise BadRequestError(f"The request carries {len(streams)} attachment streams but its commands use "
                                  f"{batch.next_stream}.")
        if batch.compare_exchange_failures:
            raise ConcurrencyError("Failed to execute cluster transaction due to the following issues: "
                                   + "; ".join(batch.compare_exchange_failures))
        transaction_index = tx.next_etag() if cluster_wide else 0
    return BatchResult(results, transaction_index)
