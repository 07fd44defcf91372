"""Task counters, health from the EWMA of the failure ratio, throughput window and history ring."""

from __future__ import annotations

import pytest

from rookdb.ai.embeddings.stats import BatchCounts, Health, HealthThresholds, TaskCounters, TaskStats


class Ticker:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(("ratio", "health"), [
    (0.0, Health.HEALTHY), (0.1, Health.HEALTHY), (0.11, Health.IMPAIRED), (0.9, Health.IMPAIRED),
    (0.91, Health.FAILED)])
def test_thresholds(ratio: float, health: Health) -> None:
    assert HealthThresholds(0.1, 0.9).health(ratio) is health


def test_ewma_flips_after_a_few_bad_batches_and_recovers() -> None:
    thresholds = HealthThresholds()
    counters = TaskCounters()
    counters = counters.after_batch(BatchCounts(documents=10, failed_items=1))
    assert thresholds.health(counters.failure_ratio) is Health.HEALTHY  # 0.03
    for _ in range(3):
        counters = counters.after_failed_batch()
    assert thresholds.health(counters.failure_ratio) is Health.IMPAIRED
    for _ in range(6):
        counters = counters.after_failed_batch()
    assert thresholds.health(counters.failure_ratio) is Health.FAILED
    for _ in range(12):
        counters = counters.after_batch(BatchCounts(documents=10))
    assert thresholds.health(counters.failure_ratio) is Health.HEALTHY
    assert counters.failed_batches == 9 and counters.batches == 13 and counters.failed_items == 1


def test_counters_accumulate_and_round_trip_through_state() -> None:
    counters = TaskCounters().after_batch(BatchCounts(4, 9, 3, 2, 120, 1)).after_batch(BatchCounts(2, 2, 2, 0, 0, 0))
    assert (counters.documents, counters.chunks, counters.cache_hits, counters.provider_calls, counters.tokens,
            counters.failed_items, counters.batches) == (6, 11, 5, 2, 120, 1, 2)
    assert TaskCounters.from_state(counters.to_state()) == counters
    assert TaskCounters.from_state({"documents": 3, "from_the_future": 1}) == TaskCounters(documents=3)
    assert TaskCounters.from_state(None) == TaskCounters()


def test_throughput_over_the_window_ignores_idle_time() -> None:
    ticker = Ticker()
    stats = TaskStats(TaskCounters(), HealthThresholds(), window_seconds=10, monotonic=ticker)
    stats.started_batch()
    ticker.now += 2
    stats.committed(TaskCounters(documents=100), 100)
    assert stats.throughput() == pytest.approx(50.0)
    ticker.now += 2
    stats.committed(TaskCounters(documents=200), 100)
    assert stats.throughput() == pytest.approx(50.0)
    ticker.now += 60  # idle: the window empties
    assert stats.throughput() == 0.0
    stats.started_batch()
    ticker.now += 1
    stats.committed(TaskCounters(documents=210), 10)
    assert stats.throughput() == pytest.approx(10.0)


def test_history_is_a_ring_at_most_one_snapshot_per_interval() -> None:
    ticker = Ticker()
    stats = TaskStats(TaskCounters(), HealthThresholds(), history_size=3, history_interval_seconds=1.0,
                      monotonic=ticker)
    for n in range(1, 11):
        ticker.now += 0.5
        stats.committed(TaskCounters(documents=n, provider_calls=n, cache_hits=2 * n), 1)
    history = stats.history_snapshot()
    assert len(history) == 3
    assert [entry["DocumentsProcessed"] for entry in history] == [5, 7, 9]
    assert set(history[0]) == {"At", "DocumentsProcessed", "ProviderCalls", "CacheHits", "Chunks", "Tokens",
                               "TokensSaved", "ThroughputPerSecond"}
