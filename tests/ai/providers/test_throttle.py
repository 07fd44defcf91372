"""The provider throttle: the provider's waits, the congestion window and the declared limits, on a
fake clock (nothing sleeps for real)."""

from __future__ import annotations

import asyncio
import threading

import pytest

from rookdb.ai.providers.throttle import DeclaredLimits, Permit, ProviderThrottle
from tests.support.providers import SleepRecorder


def throttle(concurrency: int = 4, limits: DeclaredLimits = DeclaredLimits(), max_wait: float = 900.0,
             clock: SleepRecorder | None = None) -> tuple[ProviderThrottle, SleepRecorder]:
    recorder = clock or SleepRecorder()
    return ProviderThrottle(concurrency, limits, max_wait=max_wait, clock=recorder.clock, sleep=recorder), recorder


def take(made: ProviderThrottle, tokens: int = 0) -> Permit:
    return asyncio.run(made.acquire(tokens))


def test_permits_go_at_once_up_to_the_concurrency() -> None:
    made, clock = throttle(3)
    permits = [take(made) for _ in range(3)]
    assert clock.delays == [] and made.snapshot()["InFlight"] == 3
    for permit in permits:
        made.accepted(permit)
    assert made.snapshot()["InFlight"] == 0


def test_a_429_closes_the_gate_for_everyone_for_retry_after() -> None:
    made, clock = throttle(4)
    permit = take(made)
    assert made.slowed(permit, 1.5) == 1.5
    assert made.gate_remaining() == pytest.approx(1.5)
    take(made)
    assert clock.delays == [pytest.approx(1.5)]  # the next request waited for the gate, then went
    snapshot = made.snapshot()
    assert (snapshot["RateLimited"], snapshot["WaitedSeconds"]) == (1, 1.5)


def test_a_429_without_retry_after_backs_off_doubling_until_a_success() -> None:
    made, _ = throttle(4)
    waits = [made.slowed(take(made), None) for _ in range(3)]
    assert waits == [1.0, 2.0, 4.0]
    made.accepted(take(made))
    assert made.slowed(take(made), None) == 1.0


def test_the_wait_is_capped() -> None:
    made, _ = throttle(4, max_wait=30.0)
    assert made.slowed(take(made), 3600.0) == 30.0


def test_the_window_halves_once_per_round_trip_and_grows_back() -> None:
    made, clock = throttle(4)
    first, second = take(made), take(made)  # both sent before any answer
    made.slowed(first, 0.0)
    assert made.snapshot()["Concurrency"] == 2.0
    made.slowed(second, 0.0)  # sent before the cut: the same congestion, no second cut
    assert made.snapshot()["Concurrency"] == 2.0
    clock.now += 1
    made.slowed(take(made), 0.0)
    assert made.snapshot()["Concurrency"] == 1.0
    for _ in range(12):
        made.accepted(take(made))
    assert made.snapshot()["Concurrency"] == 4.0  # +1/window per answer, up to the configured concurrency


def test_a_loading_model_closes_the_gate_without_cutting_the_window() -> None:
    made, _ = throttle(4)
    made.slowed(take(made), 2.0, congestion=False)
    assert made.snapshot()["Concurrency"] == 4.0 and made.gate_remaining() == pytest.approx(2.0)


def test_a_full_window_waits_for_an_answer_from_another_thread() -> None:
    made = ProviderThrottle(1)
    first = take(made)
    got: list[Permit] = []
    waiting = threading.Thread(target=lambda: got.append(take(made)))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive() and not got  # the only slot is taken
    made.accepted(first)
    waiting.join(5)
    assert len(got) == 1 and made.snapshot()["InFlight"] == 1


def test_a_cancelled_waiter_gives_up_its_place() -> None:
    made = ProviderThrottle(1)
    take(made)

    async def give_up() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(made.acquire(), 0.05)

    asyncio.run(give_up())
    assert made._waiters == []


def test_declared_requests_per_minute_space_the_requests() -> None:
    made, clock = throttle(8, DeclaredLimits(requests_per_minute=30))
    for _ in range(3):
        made.accepted(take(made))
    assert clock.delays == [pytest.approx(2.0), pytest.approx(2.0)]  # 30/min: one every 2 s, one in hand


def test_declared_tokens_per_minute_charge_the_estimate_then_what_the_provider_reported() -> None:
    made, clock = throttle(8, DeclaredLimits(tokens_per_minute=600))  # 10 tokens/s, 10 in hand
    permit = take(made, 10)
    made.accepted(permit, tokens=30)  # the provider counted 20 more than estimated
    take(made, 5)
    assert clock.delays == [pytest.approx(2.5)]  # 20 owed + 5 needed, at 10/s
    big = ProviderThrottle(8, DeclaredLimits(tokens_per_minute=600), clock=clock.clock, sleep=clock)
    take(big, 100)  # larger than the bucket: goes with a full bucket...
    take(big, 1)
    assert clock.delays[-1] == pytest.approx(9.1)  # ...and the next one waits for the debt
