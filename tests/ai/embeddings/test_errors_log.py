"""Task errors: capped per table with the oldest evicted, stored and read back, cleared."""

from __future__ import annotations

from rookdb.ai.embeddings.errors_log import MAX_ERRORS_PER_TABLE, ErrorKind, ErrorsLog
from rookdb.ai.embeddings.failure_policy import Step


def at(n: int) -> str:
    return f"2026-01-01T00:00:{n // 100:02d}.{n % 100:07d}Z"


def test_each_table_keeps_the_newest_500() -> None:
    log = ErrorsLog()
    for n in range(MAX_ERRORS_PER_TABLE + 20):
        log.add_item(Step.TRANSFORMATION, f"products/{n}", "bad", at(n))
    log.add_process(Step.MODEL_INFERENCE, 128, "provider down", at(9999))
    entries = log.entries()
    items = [e for e in entries if e.kind is ErrorKind.ITEM]
    assert MAX_ERRORS_PER_TABLE == 500
    assert len(items) == 500 and items[0].document_id == "products/20"
    assert entries[-1].kind is ErrorKind.PROCESS and entries[-1].count == 128


def test_state_round_trip_and_clear() -> None:
    log = ErrorsLog()
    log.add_item(Step.EXTRACTION, "products/1", "object at path", at(1))
    log.add_process(Step.PERSISTENCE, 3, "disk full", at(2))
    restored = ErrorsLog(log.to_state())
    assert restored.entries() == log.entries()
    assert restored.last() is not None and restored.last().message == "disk full"  # type: ignore[union-attr]
    assert restored.entries()[0].to_json("Task") == {
        "TaskName": "Task", "Kind": "Item", "Step": "Extraction", "DocumentId": "products/1", "Count": None,
        "Message": "object at path", "At": at(1)}
    version = restored.version
    assert restored.clear() == 2 and restored.entries() == [] and restored.version > version


def test_unreadable_entries_are_dropped() -> None:
    log = ErrorsLog({"Items": [{"Kind": "Item", "Step": "No Such Step", "Message": "x", "At": at(1)}],
                     "Processes": "nonsense"})
    assert log.entries() == []
