"""Patch and delete by query: the batches an operation writes in."""

from __future__ import annotations

import time
from collections.abc import Sequence

import pytest

from rookdb.documents.operations import Operation, OperationCanceled
from rookdb.documents.patching.by_query import SLICE_S, _batches, _next_size


@pytest.mark.parametrize(("size", "done", "elapsed", "expected"), [
    (256, 256, 0.001, 512),            # quick: at most twice the batch before
    (1024, 1024, 10 * SLICE_S, 102),   # slow: SLICE_S at its pace
    (1024, 1024, 60.0, 16),            # very slow: never below the smallest batch
    (16_384, 16_384, 0.0001, 16_384),  # never above the largest
    (512, 100, 0.0, 1024),             # no measurable time: as quick as can be
])
def test_a_batch_is_sized_to_take_a_slice_at_the_pace_of_the_one_before(
        size: int, done: int, elapsed: float, expected: int) -> None:
    assert _next_size(size, done, elapsed) == expected


def test_batches_cover_every_id_once_in_order_and_shrink_when_writes_are_slow() -> None:
    ids = [f"products/{n}" for n in range(3000)]
    written: list[Sequence[str]] = []

    def write(batch: Sequence[str]) -> None:
        written.append(batch)
        time.sleep(len(batch) * SLICE_S / 100)  # 100 documents per slice

    progress = list(_batches(ids, Operation(1, "db", "UpdateByQuery", {}), write))
    assert [doc_id for batch in written for doc_id in batch] == ids
    assert progress == [sum(len(batch) for batch in written[:index + 1]) for index in range(len(written))]
    assert len(written[0]) == 256
    # Scheduling on a busy machine only makes a sleep longer, so later batches are at most the slice's size.
    assert all(len(batch) <= 100 for batch in written[1:])


def test_a_killed_operation_stops_before_its_next_batch() -> None:
    operation = Operation(1, "db", "UpdateByQuery", {})
    written: list[Sequence[str]] = []

    def write(batch: Sequence[str]) -> None:
        written.append(batch)
        operation.cancel.set()

    with pytest.raises(OperationCanceled):
        list(_batches([f"products/{n}" for n in range(1000)], operation, write))
    assert len(written) == 1
