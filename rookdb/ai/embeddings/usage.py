"""What embeddings cost, per day: provider calls, input tokens, cache hits and the tokens they saved.

Each owner of provider calls (an embeddings task, or a database's search-term embedding) keeps the
usage of the current UTC day in memory and writes it with its own commits, one state value per
(connection string, day, owner)::

    ai-usage/<connection-string identifier>/<YYYY-MM-DD>/task-<task id>
    ai-usage/<connection-string identifier>/<YYYY-MM-DD>/queries

Only that owner writes its key, so nothing is read back under a lock. The values stay when a task
is deleted (the money was spent); a task's totals are the sum of its keys over connection strings,
so a task that moved to another connection string keeps its history. Money is tokens times the
connection string's ``PricePerMillionTokens`` (its current price).
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from rookdb.ai.embeddings.cache import Clock, utc_now
from rookdb.ai.embeddings.stats import StoredCounts
from rookdb.storage.base import DocumentStorage

__all__ = [
    "DEFAULT_USAGE_DAYS_SHOWN",
    "USAGE_PREFIX",
    "DailyUsage",
    "UsageCounts",
    "UsageRecord",
    "day_of",
    "next_day_start",
    "query_owner",
    "read_usage",
    "summarize",
    "task_owner",
    "usage_key",
]

USAGE_PREFIX = "ai-usage/"
# Progress lists at most this many days (the most recent), with every day's totals.
DEFAULT_USAGE_DAYS_SHOWN = 30
_QUERIES = "queries"


def task_owner(task_id: int) -> str:
    return f"task-{task_id}"


def query_owner() -> str:
    return _QUERIES


def day_of(moment: datetime) -> str:
    """The UTC day of ``moment``, ``YYYY-MM-DD``."""
    return moment.astimezone(UTC).date().isoformat()


def next_day_start(moment: datetime) -> datetime:
    """Midnight (UTC) after ``moment``: when a daily budget starts again."""
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start + timedelta(days=1)


def usage_key(connection_string_identifier: str, day: str, owner: str) -> str:
    return f"{USAGE_PREFIX}{connection_string_identifier}/{day}/{owner}"


@dataclass(frozen=True)
class UsageCounts(StoredCounts):
    """Provider calls (HTTP requests, retries included), input tokens (``estimated_tokens`` of them
    estimated as length / 4), cache hits and the tokens those hits would have cost (likewise)."""

    provider_calls: int = 0
    tokens: int = 0
    estimated_tokens: int = 0
    cache_hits: int = 0
    tokens_saved: int = 0
    estimated_tokens_saved: int = 0

    def __add__(self, other: UsageCounts) -> UsageCounts:
        return UsageCounts(**{f.name: getattr(self, f.name) + getattr(other, f.name)
                              for f in dataclasses.fields(self)})

    def to_json(self) -> dict[str, Any]:
        return {"ProviderCalls": self.provider_calls, "Tokens": self.tokens, "EstimatedTokens": self.estimated_tokens,
                "CacheHits": self.cache_hits, "TokensSaved": self.tokens_saved,
                "EstimatedTokensSaved": self.estimated_tokens_saved}


@dataclass(frozen=True)
class UsageRecord:
    """One stored value: an owner's usage of one connection string on one day."""

    connection_string: str
    day: str
    owner: str
    counts: UsageCounts


def read_usage(storage: DocumentStorage) -> list[UsageRecord]:
    """Every stored usage value of the database."""
    records: list[UsageRecord] = []
    for key, value in storage.states(USAGE_PREFIX).items():
        parts = key[len(USAGE_PREFIX):].rsplit("/", 2)
        if len(parts) == 3:
            records.append(UsageRecord(parts[0], parts[1], parts[2], UsageCounts.from_state(value)))
    return records


class DailyUsage:
    """One owner's usage of the current day, per connection string; thread-safe.

    ``add`` counts; ``changed_states`` gives the state values to write with the next commit.
    """

    def __init__(self, storage: DocumentStorage, owner: str, clock: Clock = utc_now) -> None:
        self._storage = storage
        self.owner = owner
        self._clock = clock
        self._lock = threading.Lock()
        self._day = day_of(clock())
        self._counts: dict[str, UsageCounts] = self._load(self._day)
        self._changed: set[str] = set()

    def _load(self, day: str) -> dict[str, UsageCounts]:
        return {record.connection_string: record.counts for record in read_usage(self._storage)
                if record.day == day and record.owner == self.owner}

    def _roll(self) -> None:
        day = day_of(self._clock())
        if day != self._day:
            self._day, self._counts, self._changed = day, self._load(day), set()

    def add(self, connection_string_identifier: str, counts: UsageCounts) -> None:
        with self._lock:
            self._roll()
            current = self._counts.get(connection_string_identifier, UsageCounts())
            self._counts[connection_string_identifier] = current + counts
            self._changed.add(connection_string_identifier)

    def reload(self) -> None:
        """Read today's counts again (other nodes add to the same owner's usage)."""
        with self._lock:
            self._roll()
            self._counts = self._load(self._day)

    def today(self) -> UsageCounts:
        """Today's usage over every connection string."""
        with self._lock:
            self._roll()
            return sum(self._counts.values(), UsageCounts())

    def pending(self, connection_string_identifier: str, counts: UsageCounts) -> dict[str, dict[str, int]]:
        """The state value to write with a commit that adds ``counts`` (``add`` them once it is written)."""
        with self._lock:
            self._roll()
            current = self._counts.get(connection_string_identifier, UsageCounts()) + counts
            return {usage_key(connection_string_identifier, self._day, self.owner): current.to_state()}

    def changed_states(self) -> dict[str, dict[str, int]]:
        """State key → value of what changed since the last call (write them in one transaction)."""
        with self._lock:
            changed, self._changed = self._changed, set()
            return {usage_key(identifier, self._day, self.owner): self._counts[identifier].to_state()
                    for identifier in changed}

    def unwritten(self) -> bool:
        with self._lock:
            return bool(self._changed)


def summarize(records: Iterable[UsageRecord], *, prices: Mapping[str, float | None],
              days: int = DEFAULT_USAGE_DAYS_SHOWN, today: str | None = None) -> dict[str, Any]:
    """``{"Today", "Total", "Days": [{"Day", ...}]}`` of ``records`` (already filtered to one task or
    one connection string), with money where ``prices`` (connection string → price) has a price."""
    by_day: dict[str, UsageCounts] = {}
    spent: dict[str, float] = {}
    saved: dict[str, float] = {}
    priced = False
    for record in records:
        by_day[record.day] = by_day.get(record.day, UsageCounts()) + record.counts
        price = prices.get(record.connection_string)
        if price is not None:
            priced = True
            spent[record.day] = spent.get(record.day, 0.0) + record.counts.tokens * price / 1_000_000
            saved[record.day] = saved.get(record.day, 0.0) + record.counts.tokens_saved * price / 1_000_000

    def entry(counts: UsageCounts, day_spent: float, day_saved: float) -> dict[str, Any]:
        out = counts.to_json()
        if priced:
            out["Spent"], out["Saved"] = round(day_spent, 6), round(day_saved, 6)
        return out

    ordered = sorted(by_day)
    total = sum(by_day.values(), UsageCounts())
    current = today if today is not None else (ordered[-1] if ordered else "")
    return {
        "Today": entry(by_day.get(current, UsageCounts()), spent.get(current, 0.0), saved.get(current, 0.0)),
        "Total": entry(total, sum(spent.values()), sum(saved.values())),
        "Days": [{"Day": day, **entry(by_day[day], spent.get(day, 0.0), saved.get(day, 0.0))}
                 for day in ordered[-days:]],
    }
