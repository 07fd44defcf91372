"""``rookdb tasks watch`` renders what progress says: states, tokens (marked when estimated), money and budgets."""

from __future__ import annotations

from typing import Any

import pytest
from rich.console import Console

from rookdb.tasks_watch import is_settled, progress_table


def entry(**changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "TaskId": 1, "Name": "Names", "State": "Idle", "Health": "Healthy", "DocumentsProcessed": 77,
        "DocumentsTotal": 77, "Chunks": 77, "CacheHits": 3, "ProviderCalls": 2, "Tokens": 1234,
        "EstimatedTokens": 0, "ThroughputPerSecond": 0.0, "LastError": None, "DailyTokenBudget": None,
        "BudgetRemainingToday": None, "BudgetResumesAt": None,
        "Usage": {"Today": {"Tokens": 1234, "EstimatedTokens": 0}, "Total": {}, "Days": []},
    }
    return base | changes


def rendered(entries: list[dict[str, Any]]) -> str:
    console = Console(width=400, record=True)
    console.print(progress_table(entries))
    return console.export_text()


@pytest.mark.parametrize(("changes", "settled"), [
    ({}, True),
    ({"DocumentsProcessed": 10}, False),
    ({"State": "Running"}, False),
    ({"State": "Throttled"}, False),
    ({"State": "BudgetExhausted", "DocumentsProcessed": 10}, True),
    ({"State": "Failed"}, True),
])
def test_settled_states(changes: dict[str, Any], settled: bool) -> None:
    assert is_settled(entry(**changes)) is settled


def test_the_table_shows_tokens_money_and_the_budget() -> None:
    priced = entry(State="BudgetExhausted", DailyTokenBudget=5000, BudgetRemainingToday=0,
                   BudgetResumesAt="2026-12-07T00:00:00.0000000Z",
                   Usage={"Today": {"Tokens": 5000, "EstimatedTokens": 0, "Spent": 0.0001, "Saved": 0.00002},
                          "Total": {}, "Days": []})
    text = rendered([priced])
    assert "BudgetExhausted" in text and "0 of 5,000 left, resumes 2026-12-07T00:00:00.0000000Z" in text
    assert "0.0001 spent, 0.0000 saved" in text and "5,000" in text


def test_estimated_tokens_are_marked() -> None:
    text = rendered([entry(Tokens=400, EstimatedTokens=400,
                           Usage={"Today": {"Tokens": 400, "EstimatedTokens": 400}, "Total": {}, "Days": []})])
    assert "≈400" in text
    assert "≈" not in rendered([entry()])


def test_a_migration_shows_both_generations() -> None:
    migrating = entry(Generation=0, ServingConnectionStringName="Embedded", Migration={
        "Generation": 1, "ConnectionStringName": "Small", "DocumentsProcessed": 30, "DocumentsTotal": 77})
    text = rendered([migrating])
    assert "migrating Embedded (generation 0) → Small (generation 1): 30/77" in text
