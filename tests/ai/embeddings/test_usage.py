"""Usage per day: counts that add up, one state value per connection string, day and owner, and the
summaries progress shows (money from the connection string's price)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from rookdb.ai.embeddings.usage import (
    DailyUsage,
    UsageCounts,
    UsageRecord,
    day_of,
    next_day_start,
    query_owner,
    read_usage,
    summarize,
    task_owner,
    usage_key,
)
from rookdb.storage.sqlite import SqliteStorage

NOON = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = NOON

    def __call__(self) -> datetime:
        return self.now


def write(storage: SqliteStorage, states: dict[str, dict[str, int]]) -> None:
    with storage.write() as tx:
        for key, value in states.items():
            tx.set_state(key, value)


def test_counts_add_and_round_trip() -> None:
    first = UsageCounts(provider_calls=2, tokens=100, estimated_tokens=10, cache_hits=3, tokens_saved=30)
    total = first + UsageCounts(provider_calls=1, tokens=5)
    assert (total.provider_calls, total.tokens, total.estimated_tokens) == (3, 105, 10)
    assert UsageCounts.from_state(total.to_state()) == total
    assert UsageCounts.from_state({"tokens": 7, "unknown": 1, "cache_hits": "x"}) == UsageCounts(tokens=7)
    assert UsageCounts.from_state(None) == UsageCounts()


def test_days_are_utc_and_the_next_one_starts_at_midnight() -> None:
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert day_of(late) == "2026-12-06"
    assert day_of(late.astimezone(timezone(timedelta(hours=2)))) == "2026-12-06"  # 01:30 on the 7th there
    assert next_day_start(late) == datetime(2026, 12, 7, tzinfo=UTC)


def test_daily_usage_is_kept_per_connection_string_and_reloaded(storage: SqliteStorage) -> None:
    clock = Clock()
    usage = DailyUsage(storage, task_owner(7), clock)
    pending = usage.pending("openai", UsageCounts(tokens=40))
    assert pending == {usage_key("openai", "2026-12-06", "task-7"): UsageCounts(tokens=40).to_state()}
    assert usage.today() == UsageCounts()  # pending does not count until added
    write(storage, pending)
    usage.add("openai", UsageCounts(tokens=40))
    usage.add("local", UsageCounts(tokens=2, cache_hits=1))
    write(storage, usage.changed_states())
    assert usage.today() == UsageCounts(tokens=42, cache_hits=1)
    again = DailyUsage(storage, task_owner(7), clock)  # after a restart
    assert again.today() == UsageCounts(tokens=42, cache_hits=1)
    clock.now = NOON + timedelta(days=1)
    assert again.today() == UsageCounts()  # a new day starts from zero
    assert {record.day for record in read_usage(storage)} == {"2026-12-06"}


def test_summaries_add_days_and_price_tokens() -> None:
    records = [
        UsageRecord("openai", "2026-12-05", "task-1",
                    UsageCounts(provider_calls=1, tokens=1_000_000, tokens_saved=500_000)),
        UsageRecord("openai", "2026-12-06", "task-1", UsageCounts(provider_calls=2, tokens=2_000_000)),
        UsageRecord("local", "2026-12-06", query_owner(), UsageCounts(tokens=10, cache_hits=4, tokens_saved=8)),
    ]
    summary = summarize(records, prices={"openai": 0.02, "local": None}, today="2026-12-06")
    assert summary["Today"]["Tokens"] == 2_000_010 and summary["Today"]["Spent"] == 0.04
    assert summary["Total"] == {"ProviderCalls": 3, "Tokens": 3_000_010, "EstimatedTokens": 0, "CacheHits": 4,
                                "TokensSaved": 500_008, "EstimatedTokensSaved": 0, "Spent": 0.06, "Saved": 0.01}
    assert [day["Day"] for day in summary["Days"]] == ["2026-12-05", "2026-12-06"]
    unpriced = summarize(records[2:], prices={"local": None}, today="2026-12-07")
    assert "Spent" not in unpriced["Total"] and unpriced["Today"]["Tokens"] == 0
    assert summarize([], prices={})["Days"] == []
