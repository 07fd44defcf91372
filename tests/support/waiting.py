"""Bounded waits: poll a condition, fail with what was awaited after a timeout."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

WAIT_SECONDS = 30.0
# What a loaded 2-core machine may add to a short stated bound (threads waiting for a core).
LOAD_ALLOWANCE_SECONDS = 5.0


def bound(seconds: float) -> float:
    """A generous ceiling for an operation stated to end within ``seconds``: far above what a loaded
    machine adds, still far below the work the operation must not wait for (a test's minute-long step)."""
    return 3 * seconds + LOAD_ALLOWANCE_SECONDS


def wait_for(condition: Callable[[], Any], timeout: float = WAIT_SECONDS, what: str = "condition") -> Any:
    """Poll ``condition`` until it is truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)
