"""Background services: the looping thread, the provider loop and coroutine services, stopped within bounds;
foreground requests that background work yields to."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import warnings
from collections.abc import Iterator

import pytest

from rookdb.background import (
    DEFAULT_STOP_TIMEOUT_SECONDS,
    BackgroundService,
    CoroutineService,
    Foreground,
    LoopingService,
    ProviderLoop,
    stop_all,
)
from tests.support.waiting import WAIT_SECONDS as WAIT
from tests.support.waiting import bound, wait_for


@pytest.fixture
def provider_loop() -> Iterator[ProviderLoop]:
    loop = ProviderLoop("test-providers")
    yield loop
    assert loop.stop()


def test_looping_service_steps_while_busy_then_sleeps_until_woken() -> None:
    work = [3]
    steps: list[int] = []

    def step() -> bool:
        steps.append(work[0])
        if work[0] == 0:
            return False
        work[0] -= 1
        return True

    service = LoopingService("counting", step, idle_interval=60.0)
    service.start()
    wait_for(lambda: steps == [3, 2, 1, 0], timeout=WAIT, what="three busy steps then an idle one")
    time.sleep(0.05)
    assert steps == [3, 2, 1, 0]  # asleep: the idle interval is a minute
    work[0] = 1
    service.wake()
    wait_for(lambda: steps == [3, 2, 1, 0, 1, 0], timeout=WAIT, what="the wake-up")
    assert service.stop()
    assert not service.running


def test_looping_service_retries_after_the_idle_interval() -> None:
    calls = threading.Semaphore(0)

    def step() -> bool:
        calls.release()
        return False

    service = LoopingService("polling", step, idle_interval=0.01)
    service.start()
    for _ in range(3):
        assert calls.acquire(timeout=WAIT)
    assert service.stop()


def test_a_failing_step_is_logged_and_the_thread_lives_on(caplog: pytest.LogCaptureFixture) -> None:
    outcomes: list[bool | Exception] = [RuntimeError("disk on fire"), False]
    done = threading.Event()

    def step() -> bool:
        outcome = outcomes.pop(0) if outcomes else False
        if isinstance(outcome, Exception):
            raise outcome
        done.set()
        return outcome

    service = LoopingService("fragile", step, idle_interval=60.0)
    with caplog.at_level(logging.ERROR, logger="rookdb.background"):
        service.start()
        service.wake()  # the failure counts as idle: a wake-up retries
        assert done.wait(WAIT)
    assert service.running
    assert service.stop()
    assert "fragile failed" in caplog.text and "disk on fire" in caplog.text


def test_a_step_that_never_returns_is_abandoned_after_the_timeout(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()
    started = threading.Event()

    def stuck() -> bool:
        started.set()
        release.wait(WAIT)
        return False

    service = LoopingService("stuck", stuck, idle_interval=60.0)
    service.start()
    assert started.wait(WAIT)
    begun = time.monotonic()
    with caplog.at_level(logging.ERROR, logger="rookdb.background"):
        assert service.stop(timeout=0.05) is False  # False: it returned while the step still ran
    # The bound is the feature; measured loosely, as a loaded machine stretches any short wait.
    assert time.monotonic() - begun < bound(0.05)
    assert "stuck did not stop within 0.1s" in caplog.text
    release.set()


def test_a_long_step_sees_stopping_and_returns_early() -> None:
    rounds: list[int] = []
    holder: list[LoopingService] = []

    def long_step() -> bool:
        for n in range(1000):
            if holder[0].stopping:
                return True
            rounds.append(n)
            time.sleep(0.001)
        return False

    service = LoopingService("long", long_step, idle_interval=60.0)
    holder.append(service)
    service.start()
    wait_for(lambda: len(rounds) > 3, timeout=WAIT, what="some progress")
    assert service.stop(timeout=WAIT)
    assert len(rounds) < 1000


def test_stop_before_start_and_restart_after_stop() -> None:
    calls: list[int] = []

    def step() -> bool:
        calls.append(1)
        return False

    service = LoopingService("again", step, idle_interval=60.0)
    assert service.stop()
    service.start()
    wait_for(lambda: len(calls) == 1, timeout=WAIT, what="the first step")
    assert service.stop()
    service.start()
    wait_for(lambda: len(calls) == 2, timeout=WAIT, what="the step after the restart")
    assert service.stop()


class Stopping:
    """A service whose stop returns only once every other service's stop is under way too."""

    def __init__(self, name: str, everyone: threading.Barrier, in_time: bool) -> None:
        self.name = name
        self.everyone = everyone
        self.in_time = in_time
        self.timeouts: list[float] = []

    def start(self) -> None:
        pass

    def wake(self) -> None:
        pass

    def stop(self, *, drain: bool = True, timeout: float = DEFAULT_STOP_TIMEOUT_SECONDS) -> bool:
        self.timeouts.append(timeout)
        self.everyone.wait(WAIT)  # BrokenBarrierError if the stops ran one after another
        return self.in_time


def test_stop_all_stops_in_parallel_within_one_timeout() -> None:
    everyone = threading.Barrier(3)
    stopping = [Stopping(name, everyone, in_time=name != "late") for name in ("a", "late", "c")]
    services: list[BackgroundService] = list(stopping)
    assert stop_all(services, timeout=0.2) is False  # one did not stop in time
    assert [service.timeouts for service in stopping] == [[0.2]] * 3  # each got the one timeout


def test_provider_loop_runs_coroutines_from_any_thread(provider_loop: ProviderLoop) -> None:
    async def where() -> str:
        await asyncio.sleep(0)
        return threading.current_thread().name

    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(provider_loop.run(where(), WAIT))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert results == ["test-providers"] * 4


def test_provider_loop_run_times_out_and_cancels(provider_loop: ProviderLoop) -> None:
    cancelled = threading.Event()

    async def slow() -> None:
        try:
            await asyncio.sleep(WAIT)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    with pytest.raises(TimeoutError, match=r"longer than 0\.05 seconds"):
        provider_loop.run(slow(), 0.05)
    assert cancelled.wait(WAIT)


def test_provider_loop_stop_cancels_what_still_runs_and_restarts_on_use() -> None:
    loop = ProviderLoop("short-lived")
    cancelled = threading.Event()

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.set()
            raise

    loop.submit(forever())
    assert loop.stop()
    assert cancelled.is_set()

    async def answer() -> int:
        return 42

    assert loop.run(answer(), WAIT) == 42
    assert loop.stop()


class Batches:
    """A coroutine service body: handles one batch per wake-up; a batch takes ``duration`` seconds."""

    def __init__(self, loop: ProviderLoop, duration: float) -> None:
        self.service = CoroutineService("batches", loop, self.main)
        self.duration = duration
        self.started = 0
        self.finished = 0
        self.pending = 0
        self.cancelled = threading.Event()

    async def main(self) -> None:
        try:
            while not self.service.stopping:
                self.service.clear_wake()
                if self.pending:
                    self.pending -= 1
                    self.started += 1
                    await asyncio.sleep(self.duration)
                    self.finished += 1
                    continue
                await self.service.sleep(60.0)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise


def test_coroutine_service_works_when_woken_and_drains_on_stop(provider_loop: ProviderLoop) -> None:
    batches = Batches(provider_loop, duration=0.2)
    batches.service.start()
    batches.pending = 1
    batches.service.wake()
    wait_for(lambda: batches.started == 1, timeout=WAIT, what="the batch to start")
    assert batches.service.stop(timeout=WAIT)
    assert batches.finished == 1 and not batches.cancelled.is_set()
    assert not batches.service.running


def test_coroutine_service_cancels_without_draining(
        provider_loop: ProviderLoop, caplog: pytest.LogCaptureFixture) -> None:
    batches = Batches(provider_loop, duration=3600)
    batches.service.start()
    batches.pending = 1
    batches.service.wake()
    wait_for(lambda: batches.started == 1, timeout=WAIT, what="the batch to start")
    with caplog.at_level(logging.WARNING, logger="rookdb.background"):
        assert batches.service.stop(drain=False)
    assert batches.cancelled.is_set() and batches.finished == 0
    assert "did not drain" not in caplog.text  # cancelled at once, not after waiting out a drain


def test_coroutine_service_forced_exit_after_the_drain_timeout(
        provider_loop: ProviderLoop, caplog: pytest.LogCaptureFixture) -> None:
    batches = Batches(provider_loop, duration=WAIT)
    batches.service.start()
    batches.pending = 1
    batches.service.wake()
    wait_for(lambda: batches.started == 1, timeout=WAIT, what="the batch to start")
    with caplog.at_level(logging.WARNING, logger="rookdb.background"):
        assert batches.service.stop(timeout=0.1)
    assert batches.cancelled.is_set() and batches.finished == 0
    assert "batches did not drain within 0.1s; cancelling its work" in caplog.text


def test_coroutine_service_sleep_ignores_wake_ups_when_asked(provider_loop: ProviderLoop) -> None:
    service: CoroutineService
    slept: list[float] = []
    returned = threading.Event()

    async def main() -> None:
        begun = time.monotonic()
        await service.sleep(0.3, wakeable=False)
        slept.append(time.monotonic() - begun)
        await service.sleep(3600)
        returned.set()

    service = CoroutineService("sleeper", provider_loop, main)
    service.start()
    for _ in range(5):
        service.wake()
        time.sleep(0.02)
    wait_for(lambda: bool(slept), timeout=WAIT, what="the sleep to end")
    assert slept[0] >= 0.29
    assert service.stop()
    assert returned.is_set()  # the stop ended the hour-long sleep: main returned, it was not cancelled


def test_coroutine_service_logs_a_crash(provider_loop: ProviderLoop, caplog: pytest.LogCaptureFixture) -> None:
    async def crash() -> None:
        raise ValueError("bug")

    service = CoroutineService("crashing", provider_loop, crash)
    with caplog.at_level(logging.ERROR, logger="rookdb.background"):
        service.start()
        wait_for(lambda: not service.running, timeout=WAIT, what="the crash")
    assert "crashing stopped unexpectedly" in caplog.text
    assert service.stop()


def test_a_scheduled_service_waits_one_interval_before_its_first_step() -> None:
    steps: list[float] = []
    begun = time.monotonic()

    def step() -> bool:
        steps.append(time.monotonic() - begun)
        return False

    service = LoopingService("scheduled", step, idle_interval=0.2, start_idle=True)
    service.start()
    wait_for(lambda: len(steps) >= 2, timeout=WAIT, what="two scheduled steps")
    assert service.stop()
    assert steps[0] >= 0.19 and steps[1] - steps[0] >= 0.19


def test_provider_loop_blocking_calls_run_on_daemon_threads_it_waits_for_when_stopping() -> None:
    loop = ProviderLoop("blocking")
    finished = threading.Event()

    def work() -> None:
        time.sleep(0.05)
        finished.set()

    async def short_call() -> None:
        await asyncio.to_thread(work)

    loop.submit(short_call())
    wait_for(lambda: any(thread.name.startswith("blocking-") for thread in threading.enumerate()),
             timeout=WAIT, what="the call's thread")
    assert all(thread.daemon for thread in threading.enumerate() if thread.name.startswith("blocking-"))
    assert loop.stop(timeout=WAIT)  # the coroutine is cancelled, the blocking call it started is waited for
    assert finished.is_set()

    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(WAIT)

    async def stuck_call() -> None:
        await asyncio.to_thread(stuck)

    loop.submit(stuck_call())
    # The first call's thread may still be listed: wait for this call itself to be running.
    wait_for(started.is_set, timeout=WAIT, what="the stuck call to start")
    assert loop.stop(timeout=0.1) is False  # the call outlives the stop; its thread will not hold up the exit
    release.set()


def test_provider_loop_stops_quietly_when_its_loop_already_closed() -> None:
    providers = ProviderLoop("test-closed")
    loop = providers.loop
    wait_for(loop.is_running)  # its thread is in run_forever: stopping it now ends the thread
    loop.call_soon_threadsafe(loop.stop)
    wait_for(lambda: not any(thread.name == "test-closed" and thread.is_alive() for thread in threading.enumerate()))
    loop.close()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "coroutine ... was never awaited" would fail here
        providers.stop(timeout=1)


def test_foreground_work_holds_background_work_back_for_a_bounded_time() -> None:
    foreground = Foreground()
    started = time.monotonic()
    foreground.yield_to(5.0)
    assert time.monotonic() - started < 1.0  # nothing in flight: no wait
    with foreground.serving():
        assert foreground.busy
        started = time.monotonic()
        foreground.yield_to(0.1)
        assert time.monotonic() - started >= 0.1  # a request in flight for longer than the bound
    assert not foreground.busy
    waited: list[float] = []

    def background() -> None:
        started = time.monotonic()
        foreground.yield_to(30.0)
        waited.append(time.monotonic() - started)

    with foreground.serving():
        thread = threading.Thread(target=background)
        thread.start()
        time.sleep(0.2)
        assert not waited  # still yielding
    thread.join(10)
    assert waited and waited[0] < 10  # let go as the request ended


def test_background_work_waits_a_moment_after_a_request_before_resuming() -> None:
    foreground = Foreground()
    foreground.settle = 0.2  # long enough to see on a loaded machine
    with foreground.serving():
        pass
    started = time.monotonic()
    foreground.yield_to(5.0)
    assert 0.15 <= time.monotonic() - started < 4.0  # the answer's moment on the event loop, not the bound
    started = time.monotonic()
    foreground.yield_to(5.0)
    assert time.monotonic() - started < 1.0  # settled since: no wait
    with foreground.serving():
        pass
    started = time.monotonic()
    foreground.yield_to(0.05)
    assert time.monotonic() - started < 0.15  # never past the bound


def test_yield_tells_whether_a_moment_without_requests_came() -> None:
    foreground = Foreground()
    assert foreground.yield_to(5.0)
    with foreground.serving():
        assert not foreground.yield_to(0.05)


def test_yield_while_ends_its_wait_once_it_may_no_longer_wait() -> None:
    foreground = Foreground()
    assert foreground.yield_while(lambda: True, 5.0)  # nothing in flight: no wait
    with foreground.serving():
        started = time.monotonic()
        assert not foreground.yield_while(lambda: True, 0.1)
        assert time.monotonic() - started >= 0.1  # the bound, with nothing else to end it
        asked = threading.Event()
        ended: list[float] = []

        def background() -> None:
            started = time.monotonic()
            foreground.yield_while(lambda: not asked.is_set(), 30.0, poll=0.01)
            ended.append(time.monotonic() - started)

        thread = threading.Thread(target=background)
        thread.start()
        time.sleep(0.2)
        assert not ended  # still yielding to the request in flight
        asked.set()  # e.g. a writer now waits for a lock the background work holds
        thread.join(10)
        assert ended and ended[0] < 10  # let go while the request is still in flight
        assert foreground.busy
