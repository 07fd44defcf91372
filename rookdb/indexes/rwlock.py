"""A readers-writer lock: many concurrent searches, one writer at a time, writers not starved."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from rookdb.inline import WouldBlock, waiting_refused

__all__ = ["ReadWriteLock"]


class ReadWriteLock:
    """Readers share the lock; a writer waits for them to leave and blocks newcomers meanwhile."""

    def __init__(self) -> None:
        self._condition = threading.Condition(threading.Lock())
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0

    @contextmanager
    def reading(self) -> Iterator[None]:
        with self._condition:
            # Waiting writers go first, or a steady stream of searches would block indexing forever.
            if (self._writing or self._writers_waiting) and waiting_refused():
                raise WouldBlock("a writer holds the index")
            while self._writing or self._writers_waiting:
                self._condition.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._condition:
                self._readers -= 1
                if self._readers == 0:
                    self._condition.notify_all()

    @contextmanager
    def writing(self) -> Iterator[None]:
        with self._condition:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._condition.wait()
            finally:
                self._writers_waiting -= 1
            self._writing = True
        try:
            yield
        finally:
            with self._condition:
                self._writing = False
                self._condition.notify_all()
