"""What an embeddings task does when something fails: which failures suspend it (fallback mode) and
for how long.

A provider connection failure (unreachable, dropped connection, 5xx) suspends the task; so does any
other failure of a whole batch (a refused API key, a storage error), because
retrying at once would fail the same way. The suspension follows ``DEFAULT_FALLBACK_SCHEDULE``:
short first waits for a blip, then whole minutes, because hosted providers meter requests per minute
and retrying inside the same window is refused again. Every wait is capped by
``Ai.Embeddings.MaxFallbackTimeInSec``; a provider's Retry-After is honoured when longer (still
capped). One successful batch resets the count.

A failure tied to one document (its text refused with 400/422, a script error) is an item error:
the document is skipped and the batch goes on. A provider asking to slow down (429, a loading
model) is no failure at all: the task's throttle waits and sends again (``providers.throttle``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from rookdb.errors import (
    AiBadRequestError,
    AiConfigurationError,
    AiError,
    AiRateLimitError,
    AiUnavailableError,
    StorageError,
)

__all__ = ["DEFAULT_FALLBACK_SCHEDULE", "FailureKind", "FallbackPolicy", "Step", "classify", "step_of"]

# Seconds suspended after the 1st, 2nd, ... consecutive failed batch; the last entry repeats.
DEFAULT_FALLBACK_SCHEDULE: tuple[float, ...] = (1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0)


class Step(StrEnum):
    """The processing step an error happened in (RavenDB's ETL error steps)."""

    CONFIGURATION = "Configuration"
    EXTRACTION = "Extraction"
    TRANSFORMATION = "Transformation"
    LOAD = "Load"
    MODEL_INFERENCE = "Model Inference"
    PERSISTENCE = "Persistence"
    UNKNOWN = "Unknown"


class FailureKind(StrEnum):
    CONNECTION = "Connection"
    """The provider could not be reached or asked to wait: suspend and retry the batch."""
    ITEM = "Item"
    """One input was refused: skip its document."""
    CONFIGURATION = "Configuration"
    """Settings that cannot work until someone changes them."""
    BATCH = "Batch"
    """Anything else that failed a whole batch: suspend and retry it."""


def classify(error: BaseException) -> FailureKind:
    """How a failure of one provider call or batch is handled."""
    if isinstance(error, AiRateLimitError | AiUnavailableError):
        return FailureKind.CONNECTION
    if isinstance(error, AiBadRequestError):
        return FailureKind.ITEM
    if isinstance(error, AiConfigurationError):
        return FailureKind.CONFIGURATION
    return FailureKind.BATCH


def step_of(error: BaseException) -> Step:
    """The step a batch-level failure is recorded under."""
    if isinstance(error, AiError):
        return Step.MODEL_INFERENCE
    if isinstance(error, StorageError):
        return Step.PERSISTENCE
    return Step.UNKNOWN


@dataclass
class FallbackPolicy:
    """Counts consecutive failed batches and says how long to stay suspended."""

    max_fallback_seconds: float
    schedule: tuple[float, ...] = DEFAULT_FALLBACK_SCHEDULE
    failures: int = field(default=0, init=False)

    def delay(self, failures: int, retry_after: float | None = None) -> float:
        """Seconds suspended after ``failures`` consecutive failures (1-based)."""
        if failures < 1:
            return 0.0
        planned = self.schedule[min(failures, len(self.schedule)) - 1]
        if retry_after is not None:
            planned = max(planned, retry_after)
        return min(planned, self.max_fallback_seconds)

    def on_failure(self, retry_after: float | None = None) -> float:
        """Count a failed batch and return the suspension to apply."""
        self.failures += 1
        return self.delay(self.failures, retry_after)

    def on_success(self) -> None:
        self.failures = 0
