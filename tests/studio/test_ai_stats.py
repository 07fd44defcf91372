"""AI Hub → Stats beyond RavenDB's: a task the provider asks to slow down shows it is throttled, with
its concurrency and the provider's waits."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.studio import Studio
from tests.support.tasks import create_notes_task

pytestmark = pytest.mark.browser

TASK = "Notes embeddings"


def test_a_throttled_task_says_so(studio: Studio, server: BackgroundServer, new_database: str,
                                  srv: EmbeddingServer) -> None:
    page = studio.page
    srv.add_fault("rate_limit", times=1, routes=["tei-embed"], retry_after=30)
    with httpx.Client(base_url=f"{server.url}/databases/{new_database}", timeout=30) as client:
        create_notes_task(client, TASK, srv.url, EMBEDDING_API_KEY)
    studio.open(f"#/db/{new_database}/ai/stats")
    stats = page.locator(".task-stats").filter(has_text=TASK)
    expect(stats.get_by_text("Throttled", exact=True)).to_be_visible()
    expect(stats.locator(".alert").filter(has_text="The provider asked to slow down")).to_be_visible()
    expect(stats.locator("[data-stat='Rate limited'] .stat-value")).to_have_text("1")
    expect(stats.locator("[data-stat=Concurrency] .stat-value")).to_have_text("2 / 4")
    studio.shot("throttled")


def test_cost_shows_today_in_money_against_the_budget_with_a_chart_by_day(
        studio: Studio, server: BackgroundServer, new_database: str, srv: EmbeddingServer) -> None:
    page = studio.page
    with httpx.Client(base_url=f"{server.url}/databases/{new_database}", timeout=30) as client:
        create_notes_task(client, TASK, srv.url, EMBEDDING_API_KEY, {"DailyTokenBudget": 8},
                          PricePerMillionTokens=1000.0)
    studio.open(f"#/db/{new_database}/ai/stats")
    stats = page.locator(".task-stats").filter(has_text=TASK)
    expect(stats.get_by_text("BudgetExhausted", exact=True)).to_be_visible()
    expect(stats.locator(".alert").filter(has_text="The daily token budget of 8 is spent")).to_be_visible()
    expect(stats.locator("[data-stat='Budget left today'] .stat-value")).to_contain_text("/ 8")
    tokens = stats.locator("[data-stat='Tokens today'] .stat-value").inner_text()
    assert 0 < int(tokens) <= 8  # "note n" is 4 tokens: two notes fit, the third waits for tomorrow
    spent = f"{int(tokens) * 1000.0 / 1_000_000:.4f}".rstrip("0")  # the Studio shows 2 to 4 decimals
    expect(stats.locator("[data-stat='Spent today'] .stat-value")).to_have_text(spent.ljust(spent.index(".") + 3, "0"))
    chart = stats.locator("figure.chart[data-chart='Tokens by day']")
    expect(chart.locator("rect.series-bar")).to_have_count(2)  # today: sent and saved
    studio.shot("cost")
