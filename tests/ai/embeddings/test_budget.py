"""A daily token budget: a batch is cut where the next document would not fit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from rookdb.ai.embeddings.batch import BatchPlan, DocumentPlan
from rookdb.ai.embeddings.budget import DailyBudget
from rookdb.ai.embeddings.usage import DailyUsage, UsageCounts
from rookdb.storage.sqlite import SqliteStorage


def plan() -> BatchPlan:
    """Three documents: the second repeats the first's text, the third has a new one."""
    documents = [DocumentPlan("a", 1, fields={"Name": ["h1"]}), DocumentPlan("b", 2, fields={"Name": ["h1"]}),
                 DocumentPlan("gone", 3, deleted=True), DocumentPlan("c", 4, fields={"Name": ["h2", "h3"]})]
    return BatchPlan(4, documents, {"h1": "one", "h2": "two two", "h3": "three three three"})


def length(texts: Sequence[str]) -> int:
    return sum(len(text) for text in texts)


def budget(storage: SqliteStorage, limit: int | None, spent: int = 0) -> DailyBudget:
    usage = DailyUsage(storage, "task-1", lambda: datetime(2026, 12, 6, tzinfo=UTC))
    usage.add("cs", UsageCounts(tokens=spent))
    return DailyBudget(limit, usage)


def test_without_a_budget_everything_fits(storage: SqliteStorage) -> None:
    made = budget(storage, None, spent=10**9)
    assert made.remaining() is None and made.fit(plan(), length) == 4


def test_documents_fit_in_feed_order_and_a_text_is_paid_once(storage: SqliteStorage) -> None:
    assert budget(storage, 3 + 24).fit(plan(), length) == 4  # "one" once, then "two two" + "three three three"
    assert budget(storage, 10).fit(plan(), length) == 3  # c needs 24 more
    assert budget(storage, 2).fit(plan(), length) == 0


def test_what_was_spent_today_and_what_is_in_flight_count(storage: SqliteStorage) -> None:
    made = budget(storage, 30, spent=20)
    made.in_flight = 7
    assert made.remaining() == 3 and made.fit(plan(), length) == 3
    made.in_flight = 20
    assert made.remaining() == 0


def test_a_plan_cut_short_keeps_only_its_documents() -> None:
    full = plan()
    full.hits = {}
    cut = full.prefix(2)
    assert [document.source_id for document in cut.documents] == ["a", "b"]
    assert cut.last_etag == 2 and cut.texts == {"h1": "one"}


def test_counts_are_scaled_by_what_the_provider_reported(storage: SqliteStorage) -> None:
    made = budget(storage, 30)
    assert made.scale == 1.0 and made.fit(plan(), length) == 4  # 3 + 24 counted
    made.calibrate(counted=10, reported=20)  # the provider counts twice what rookdb estimates
    assert made.scale == 2.0 and made.fit(plan(), length) == 3  # 6 + 48 > 30
