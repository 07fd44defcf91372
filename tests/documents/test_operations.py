"""Long-running operations: ids, state while running, results, faults and kills."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from rookdb.documents.operations import Operation, OperationRegistry
from rookdb.errors import BadRequestError, ConcurrencyError


@pytest.fixture
def registry() -> Iterator[OperationRegistry]:
    operations = OperationRegistry()
    yield operations
    operations.close()


def test_an_operation_reports_progress_then_its_result(registry: OperationRegistry) -> None:
    release = threading.Event()

    def work(operation: Operation) -> dict[str, int]:
        operation.report({"Processed": 1})
        release.wait(10)
        return {"Total": 2}

    operation = registry.start("Shop", "Patch", {"Query": "from X"}, work)
    assert registry.get(operation.id, "shop") is operation and registry.get(operation.id) is None
    while operation.progress is None:
        pass
    assert operation.state() == {"Status": "InProgress", "Result": None, "Progress": {"Processed": 1}}
    release.set()
    assert operation.done.wait(10)
    assert operation.state() == {"Status": "Completed", "Result": {"Total": 2}, "Progress": None}
    assert registry.next_id() > operation.id


def test_a_failing_operation_is_faulted_with_the_error_envelope(registry: OperationRegistry) -> None:
    def work(operation: Operation) -> None:
        raise ConcurrencyError("changed meanwhile")

    operation = registry.start(None, "Compact", {}, work)
    assert operation.done.wait(10)
    assert operation.status == "Faulted"
    assert operation.result == {"Type": "Raven.Client.Exceptions.ConcurrencyException", "Message": "changed meanwhile",
                                "Error": "Raven.Client.Exceptions.ConcurrencyException: changed meanwhile",
                                "StatusCode": 409}


def test_a_killed_operation_is_canceled(registry: OperationRegistry) -> None:
    def work(operation: Operation) -> None:
        while True:
            operation.check()
            operation.cancel.wait(0.01)

    operation = registry.start("Shop", "Patch", {}, work)
    with pytest.raises(BadRequestError, match="Could not find operation"):
        registry.kill(operation.id, "Other")
    registry.kill(operation.id, "Shop")
    assert operation.done.wait(10) and operation.status == "Canceled"


def test_deleting_a_database_stops_its_operations(registry: OperationRegistry) -> None:
    def work(operation: Operation) -> None:
        operation.cancel.wait(30)
        operation.check()

    mine = registry.start("Gone", "Patch", {}, work)
    other = registry.start("Kept", "Patch", {}, work)
    registry.cancel_database("gone")
    assert mine.status == "Canceled" and other.status == "InProgress"


def test_a_state_request_waits_for_an_operation_about_to_end(registry: OperationRegistry) -> None:
    def work(operation: Operation) -> dict[str, int]:
        operation.report({"Processed": 9, "Total": 10})
        time.sleep(0.2)
        return {"Total": 10}

    operation = registry.start("Shop", "Patch", {}, work)
    while operation.progress is None and not operation.done.is_set():
        time.sleep(0.001)
    assert operation.settled_state(wait=30)["Status"] == "Completed"


def test_a_state_request_answers_at_once_for_an_operation_far_from_its_end(registry: OperationRegistry) -> None:
    release = threading.Event()

    def work(operation: Operation) -> None:
        time.sleep(0.1)
        operation.report({"Processed": 1, "Total": 1000})  # about 100 s to go at this pace
        release.wait(30)

    operation = registry.start("Shop", "Patch", {}, work)
    started = time.monotonic()
    assert operation.settled_state(wait=30)["Status"] == "InProgress"  # no progress yet
    while operation.progress is None:
        time.sleep(0.001)
    assert operation.settled_state(wait=30) == {"Status": "InProgress", "Result": None,
                                                 "Progress": {"Processed": 1, "Total": 1000}}
    assert time.monotonic() - started < 30
    release.set()
