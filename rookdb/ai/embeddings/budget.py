"""A task's daily token budget (``DailyTokenBudget``): how much of a batch fits in what is left today.

Before a batch is embedded, its documents are taken in feed order while the tokens of the texts it
would send (counted as ``rookdb.ai.tokens`` counts them) fit in the budget minus what the task used
today (committed batches, and batches embedded but not written yet). A batch is cut short where the
next document would not fit; when not even the first fits the task pauses (``BudgetExhausted``)
until the next UTC day, or until the budget is raised (which restarts the task).

Where rookdb can only estimate a model's tokens (length / 4), the estimate is scaled by what the
provider reported for the texts sent so far (``calibrate``); until the first answer, a budget can be
passed by the estimate's error on one batch.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from rookdb.ai.embeddings.batch import BatchPlan
from rookdb.ai.embeddings.usage import DailyUsage

__all__ = ["DailyBudget"]

TokenCounter = Callable[[Sequence[str]], int]


class DailyBudget:
    """The budget of one task; ``limit`` None means none. Used from the task's own loop only."""

    def __init__(self, limit: int | None, usage: DailyUsage) -> None:
        self.limit = limit
        self._usage = usage
        self.in_flight = 0
        """Tokens of batches embedded but not committed yet."""
        self._counted = 0
        self._reported = 0

    def remaining(self) -> int | None:
        """Tokens left today (never negative), or None without a budget."""
        if self.limit is None:
            return None
        return max(0, self.limit - self._usage.today().tokens - self.in_flight)

    def calibrate(self, counted: int, reported: int) -> None:
        """Texts rookdb counted as ``counted`` tokens were reported as ``reported`` by the provider."""
        self._counted += counted
        self._reported += reported

    @property
    def scale(self) -> float:
        """Reported tokens per counted token so far (1 before any report)."""
        return self._reported / self._counted if self._counted and self._reported else 1.0

    def fit(self, plan: BatchPlan, count: TokenCounter) -> int:
        """How many of ``plan``'s documents, from the first, fit in what is left (counts scaled)."""
        remaining = self.remaining()
        if remaining is None:
            return len(plan.documents)
        to_embed = set(plan.to_embed)
        counted: set[str] = set()
        needed = 0
        for index, document in enumerate(plan.documents):
            new = [digest for hashes in document.fields.values() for digest in hashes
                   if digest in to_embed and digest not in counted]
            cost = math.ceil(count([plan.texts[digest] for digest in dict.fromkeys(new)]) * self.scale)
            if needed + cost > remaining:
                return index
            needed += cost
            counted.update(new)
        return len(plan.documents)
