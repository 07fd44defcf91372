"""Waiting refused: inside ``without_waiting`` a wait raises ``WouldBlock``; outside nothing changes."""

from __future__ import annotations

import threading

import pytest

from rookdb.inline import WouldBlock, acquire, refuse_to_wait, waiting_refused, without_waiting


def test_refusing_to_wait_raises_only_inside_without_waiting() -> None:
    refuse_to_wait("nothing")
    assert not waiting_refused()
    with without_waiting():
        assert waiting_refused()
        with pytest.raises(WouldBlock, match="an index to build"):
            refuse_to_wait("an index to build")
    assert not waiting_refused()


def test_a_lock_another_thread_holds_is_refused_inside_and_waited_for_outside() -> None:
    lock = threading.Lock()
    with without_waiting(), acquire(lock, "free"):
        assert lock.locked()
    assert not lock.locked()
    taken, release = threading.Event(), threading.Event()

    def hold() -> None:
        with lock:
            taken.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait(10)
    with without_waiting(), pytest.raises(WouldBlock, match="held"), acquire(lock, "held"):
        pass
    threading.Timer(0.05, release.set).start()
    with acquire(lock, "held"):  # outside: waits for the holder
        assert release.is_set()
    holder.join(10)
