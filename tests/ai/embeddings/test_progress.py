from __future__ import annotations

import pytest

from rookdb.ai.embeddings.progress import TaskProgress, TaskState
from rookdb.ai.embeddings.stats import Health, TaskCounters


def test_progress_on_the_wire() -> None:
    counters = TaskCounters(documents=7, chunks=9, cache_hits=2, provider_calls=3, tokens=120, failed_items=1,
                            estimated_tokens=20, tokens_saved=30, batches=4, failed_batches=1, failure_ratio=0.123456)
    wire = TaskProgress(state=TaskState.THROTTLED, health=Health.IMPAIRED, position=42, counters=counters,
                        throughput_per_second=12.3456, daily_token_budget=1000, budget_remaining_today=880).to_wire()
    assert wire == {
        "State": "Throttled", "Health": "Impaired", "Position": 42, "DocumentsChanged": 7, "Chunks": 9,
        "CacheHits": 2, "ProviderCalls": 3, "Tokens": 120, "EstimatedTokens": 20, "TokensSaved": 30,
        "FailedItems": 1, "FailedBatches": 1, "FailureRatio": 0.1235, "ThroughputPerSecond": 12.35,
        "LastError": None, "FallbackUntil": None, "History": [], "Throttle": None, "DailyTokenBudget": 1000,
        "BudgetRemainingToday": 880, "BudgetResumesAt": None, "ThisNode": None,
    }


@pytest.mark.parametrize(("state", "busy"), [(TaskState.RUNNING, True), (TaskState.THROTTLED, True),
                                             (TaskState.IDLE, False), (TaskState.FALLBACK, False),
                                             (TaskState.BUDGET_EXHAUSTED, False), (TaskState.DISABLED, False)])
def test_a_task_is_busy_while_it_works_through_the_feed(state: TaskState, busy: bool) -> None:
    assert state.busy is busy
