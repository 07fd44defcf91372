"""Per-task statistics: cumulative counters (persisted with each batch), health from an EWMA of the
failure ratio, throughput over a sliding window and a ring of snapshots for charts."""

from __future__ import annotations

import dataclasses
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Self

from rookdb.ai.embeddings.cache import Clock, utc_now
from rookdb.wire import format_timestamp

__all__ = [
    "DEFAULT_HEALTH_SMOOTHING",
    "DEFAULT_HISTORY_INTERVAL_SECONDS",
    "DEFAULT_HISTORY_SIZE",
    "DEFAULT_THROUGHPUT_WINDOW_SECONDS",
    "BatchCounts",
    "Health",
    "HealthThresholds",
    "NodeBatches",
    "StoredCounts",
    "TaskCounters",
    "TaskStats",
]

# Weight of the newest batch in the failure-ratio EWMA: a few bad batches in a row flip the health,
# one bad batch among good ones does not.
DEFAULT_HEALTH_SMOOTHING = 0.3
DEFAULT_THROUGHPUT_WINDOW_SECONDS = 10.0
DEFAULT_HISTORY_SIZE = 120
DEFAULT_HISTORY_INTERVAL_SECONDS = 1.0


class Health(StrEnum):
    HEALTHY = "Healthy"
    IMPAIRED = "Impaired"
    FAILED = "Failed"


@dataclass(frozen=True)
class HealthThresholds:
    """``ETL.ProcessHealthStatusImpairedThreshold`` / ``...FailedThreshold``: failure ratios above them."""

    impaired: float = 0.1
    failed: float = 0.9

    def health(self, failure_ratio: float) -> Health:
        if failure_ratio > self.failed:
            return Health.FAILED
        if failure_ratio > self.impaired:
            return Health.IMPAIRED
        return Health.HEALTHY


@dataclass(frozen=True)
class StoredCounts:
    """Counters kept in a storage state value: their fields as a JSON object, unknown keys ignored
    (a value written by a later version keeps loading)."""

    def to_state(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_state(cls, value: Any) -> Self:
        if not isinstance(value, dict):
            return cls()
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{key: item for key, item in value.items()
                      if key in known and isinstance(item, int | float) and not isinstance(item, bool)})


@dataclass(frozen=True)
class BatchCounts:
    """What one batch did."""

    documents: int = 0
    chunks: int = 0
    cache_hits: int = 0
    provider_calls: int = 0
    tokens: int = 0
    """Input tokens, as providers reported them or as counted (``estimated_tokens`` of them estimated)."""
    failed_items: int = 0
    estimated_tokens: int = 0
    tokens_saved: int = 0
    """Tokens the cache hits would have cost."""


@dataclass(frozen=True)
class TaskCounters(BatchCounts, StoredCounts):
    """Cumulative since the task was created or reset; stored in the task's state with each batch."""

    batches: int = 0
    failed_batches: int = 0
    failure_ratio: float = 0.0
    """EWMA of failed/total per batch (a failed batch counts 1)."""

    def after_batch(self, batch: BatchCounts, smoothing: float = DEFAULT_HEALTH_SMOOTHING) -> TaskCounters:
        ratio = batch.failed_items / batch.documents if batch.documents else 0.0
        sums = {f.name: getattr(self, f.name) + getattr(batch, f.name) for f in dataclasses.fields(BatchCounts)}
        return dataclasses.replace(
            self,
            **sums,
            batches=self.batches + 1,
            failure_ratio=smoothing * ratio + (1.0 - smoothing) * self.failure_ratio,
        )

    def after_failed_batch(self, provider_calls: int = 0,
                           smoothing: float = DEFAULT_HEALTH_SMOOTHING) -> TaskCounters:
        return dataclasses.replace(
            self,
            provider_calls=self.provider_calls + provider_calls,
            failed_batches=self.failed_batches + 1,
            failure_ratio=smoothing + (1.0 - smoothing) * self.failure_ratio,
        )



class TaskStats:
    """Live statistics of one running task; the worker commits counters, readers take ``snapshot``."""

    def __init__(
        self,
        counters: TaskCounters,
        thresholds: HealthThresholds,
        *,
        window_seconds: float = DEFAULT_THROUGHPUT_WINDOW_SECONDS,
        history_size: int = DEFAULT_HISTORY_SIZE,
        history_interval_seconds: float = DEFAULT_HISTORY_INTERVAL_SECONDS,
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Clock = utc_now,
    ) -> None:
        self.counters = counters
        self.thresholds = thresholds
        self._window = window_seconds
        self._interval = history_interval_seconds
        self._monotonic = monotonic
        self._wall_clock = wall_clock
        self._lock = threading.Lock()  # the worker commits while HTTP readers take snapshots
        self._recent: deque[tuple[float, int]] = deque()
        self._busy_since: float | None = None
        self._last_snapshot: float | None = None
        self.history: deque[dict[str, Any]] = deque(maxlen=history_size)

    @property
    def health(self) -> Health:
        return self.thresholds.health(self.counters.failure_ratio)

    def started_batch(self) -> None:
        """Mark the start of work after idling, so throughput is not diluted by the idle time."""
        now = self._monotonic()
        if self._busy_since is None or not self._recent or now - self._recent[-1][0] > self._window:
            self._busy_since = now

    def committed(self, counters: TaskCounters, documents: int) -> None:
        """Adopt counters that were just committed with a batch of ``documents`` documents."""
        now = self._monotonic()
        throughput = self.throughput()
        with self._lock:
            self.counters = counters
            if documents:
                self._recent.append((now, documents))
            self._trim(now)
            if self._last_snapshot is not None and now - self._last_snapshot < self._interval:
                return
            self._last_snapshot = now
            self.history.append({
                "At": format_timestamp(self._wall_clock()),
                "DocumentsProcessed": counters.documents,
                "ProviderCalls": counters.provider_calls,
                "CacheHits": counters.cache_hits,
                "Chunks": counters.chunks,
                "Tokens": counters.tokens,
                "TokensSaved": counters.tokens_saved,
                "ThroughputPerSecond": round(throughput, 2),
            })

    def throughput(self) -> float:
        """Documents per second over the last ``window_seconds`` of work."""
        now = self._monotonic()
        with self._lock:
            self._trim(now)
            if not self._recent or self._busy_since is None:
                return 0.0
            span = now - max(now - self._window, self._busy_since)
            return sum(count for _, count in self._recent) / span if span > 0 else 0.0

    def history_snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.history)

    def _trim(self, now: float) -> None:
        while self._recent and now - self._recent[0][0] > self._window:
            self._recent.popleft()


@dataclass
class NodeBatches:
    """The batches this node's worker committed and where their time went (seconds, summed): reading
    and claiming the feed, embedding, and the commit — of which ``coordination`` is the part the
    claims add (completing the claim, skipping superseded documents, reading the shared counters).
    Claiming and committing include waiting for the database's write lock while another writer (another
    node's commit, this node's previous batch) holds it: ``claim_lock_wait`` and ``commit_lock_wait``."""

    batches: int = 0
    documents: int = 0
    claim: float = 0.0
    embed: float = 0.0
    commit: float = 0.0
    coordination: float = 0.0
    claim_lock_wait: float = 0.0
    commit_lock_wait: float = 0.0

    def to_wire(self) -> dict[str, Any]:
        return {"Batches": self.batches, "Documents": self.documents, "ClaimSeconds": round(self.claim, 4),
                "EmbedSeconds": round(self.embed, 4), "CommitSeconds": round(self.commit, 4),
                "CoordinationSeconds": round(self.coordination, 4),
                "ClaimLockWaitSeconds": round(self.claim_lock_wait, 4),
                "CommitLockWaitSeconds": round(self.commit_lock_wait, 4)}
