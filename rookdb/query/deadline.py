"""The time limit on running a query (``Query.TimeoutInSec``), checked without reading the clock per row."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterable, Iterator
from typing import TypeVar

from rookdb.errors import RequestTimeoutError

__all__ = ["CHECK_EVERY", "NO_DEADLINE", "Deadline"]

_T = TypeVar("_T")

# Rows between two readings of the clock: a query overruns its limit by at most this many rows' work.
CHECK_EVERY = 512


class Deadline:
    """When a query must have finished; ``paced`` and ``check`` raise ``RequestTimeoutError`` past it."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds

    def check(self) -> None:
        if self._clock() > self._at:
            raise RequestTimeoutError(f"The query did not finish within {self.seconds:g} seconds (Query.TimeoutInSec).")

    def paced(self, items: Iterable[_T]) -> Iterator[_T]:
        """``items``, checking the deadline once every ``CHECK_EVERY`` of them."""
        count = 0
        for item in items:
            count += 1
            if count == CHECK_EVERY:
                count = 0
                self.check()
            yield item


NO_DEADLINE = Deadline(math.inf)
