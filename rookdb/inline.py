"""Work run on the event loop instead of a request thread: it may read, never wait.

A request whose work takes a fraction of a millisecond (a vector query on a current index) costs less
on the event loop than the hand-off to a request thread and back. There it must not wait: a lock a
writer holds, an index to create or catch up, a model to call would stall every connection. Code on
those paths calls ``refuse_to_wait`` (or takes its lock with ``acquire``); inside ``without_waiting``
they raise ``WouldBlock`` instead, and the caller runs the work again on a thread, where they wait as
always. Outside it they change nothing.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["WouldBlock", "acquire", "refuse_to_wait", "waiting_refused", "without_waiting"]

_REFUSED: ContextVar[bool] = ContextVar("rookdb_waiting_refused", default=False)


class WouldBlock(Exception):
    """Raised inside ``without_waiting`` where the work would wait; never reaches a client."""


@contextmanager
def without_waiting() -> Iterator[None]:
    """Run the block with waiting refused (``WouldBlock`` where it would wait)."""
    token = _REFUSED.set(True)
    try:
        yield
    finally:
        _REFUSED.reset(token)


def waiting_refused() -> bool:
    """True inside ``without_waiting``."""
    return _REFUSED.get()


def refuse_to_wait(what: str) -> None:
    """Raise ``WouldBlock`` (saying ``what`` would wait) inside ``without_waiting``; nothing outside it."""
    if _REFUSED.get():
        raise WouldBlock(what)


@contextmanager
def acquire(lock: threading.Lock | threading.RLock | threading.Condition, what: str) -> Iterator[None]:
    """Hold ``lock`` for the block: waiting for it as ``with lock`` does, or, inside ``without_waiting``,
    only if it is free right now (``WouldBlock`` otherwise)."""
    if not lock.acquire(blocking=not _REFUSED.get()):
        raise WouldBlock(what)
    try:
        yield
    finally:
        lock.release()
