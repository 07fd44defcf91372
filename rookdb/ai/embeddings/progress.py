"""`TaskProgress`: one embeddings task's state and figures as ``/ai/tasks/progress`` shows them, built
the same way whether a worker runs the task (live) or not (from what the task stored)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from rookdb.ai.embeddings.stats import Health, TaskCounters

__all__ = ["TaskProgress", "TaskState"]


class TaskState(StrEnum):
    RUNNING = "Running"
    THROTTLED = "Throttled"
    """Running, and waiting because the provider asked (429, a loading model)."""
    IDLE = "Idle"
    BUDGET_EXHAUSTED = "BudgetExhausted"
    """The task's daily token budget is spent: it resumes the next UTC day or when it is raised."""
    FALLBACK = "Fallback"
    DISABLED = "Disabled"
    FAILED = "Failed"

    @property
    def busy(self) -> bool:
        """Working through the feed now (its position is moving)."""
        return self in (TaskState.RUNNING, TaskState.THROTTLED)


@dataclass(frozen=True, slots=True)
class TaskProgress:
    """A task's state, feed position and counters; timestamps are already in the wire format."""

    state: TaskState
    health: Health
    position: int
    counters: TaskCounters
    throughput_per_second: float = 0.0
    last_error: str | None = None
    fallback_until: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    throttle: dict[str, Any] | None = None
    daily_token_budget: int | None = None
    budget_remaining_today: int | None = None
    budget_resumes_at: str | None = None
    this_node: dict[str, Any] | None = None
    """What this node's worker did (``NodeBatches``), when a worker runs the task here."""

    def to_wire(self) -> dict[str, Any]:
        counters = self.counters
        return {
            "State": self.state.value,
            "Health": self.health.value,
            "Position": self.position,
            "DocumentsChanged": counters.documents,
            "Chunks": counters.chunks,
            "CacheHits": counters.cache_hits,
            "ProviderCalls": counters.provider_calls,
            "Tokens": counters.tokens,
            "EstimatedTokens": counters.estimated_tokens,
            "TokensSaved": counters.tokens_saved,
            "FailedItems": counters.failed_items,
            "FailedBatches": counters.failed_batches,
            "FailureRatio": round(counters.failure_ratio, 4),
            "ThroughputPerSecond": round(self.throughput_per_second, 2),
            "LastError": self.last_error,
            "FallbackUntil": self.fallback_until,
            "History": self.history,
            "Throttle": self.throttle,
            "DailyTokenBudget": self.daily_token_budget,
            "BudgetRemainingToday": self.budget_remaining_today,
            "BudgetResumesAt": self.budget_resumes_at,
            "ThisNode": self.this_node,
        }
