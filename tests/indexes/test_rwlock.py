"""The readers-writer lock: readers share it, a writer excludes them, and a reader that may not wait is refused."""

from __future__ import annotations

import threading

import pytest

from rookdb.indexes.rwlock import ReadWriteLock
from rookdb.inline import WouldBlock, without_waiting


def test_readers_share_the_lock_even_when_they_may_not_wait() -> None:
    lock = ReadWriteLock()
    with lock.reading(), without_waiting(), lock.reading():
        pass


def test_a_reader_that_may_not_wait_is_refused_while_a_writer_holds_the_lock() -> None:
    lock = ReadWriteLock()
    writing, release = threading.Event(), threading.Event()

    def write() -> None:
        with lock.writing():
            writing.set()
            release.wait(10)

    writer = threading.Thread(target=write)
    writer.start()
    writing.wait(10)
    with without_waiting(), pytest.raises(WouldBlock), lock.reading():
        pass
    threading.Timer(0.05, release.set).start()
    with lock.reading():  # may wait: gets in once the writer is done
        assert release.is_set()
    writer.join(10)
