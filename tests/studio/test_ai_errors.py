"""AI Hub → Stats and Errors when the provider refuses: the task's last error and pause are shown,
the errors table names task, kind, step and message, and the errors can be deleted."""

from __future__ import annotations

import time

import httpx
import pytest
from playwright.sync_api import expect

from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.studio import Studio
from tests.support.tasks import create_notes_task

pytestmark = pytest.mark.browser

TASK = "Notes embeddings"
ERROR_TIMEOUT_SECONDS = 30.0


def create_failing_task(server: BackgroundServer, db: str, embeddings: EmbeddingServer) -> None:
    with httpx.Client(base_url=f"{server.url}/databases/{db}", timeout=30) as client:
        create_notes_task(client, TASK, embeddings.url, "key")
        deadline = time.monotonic() + ERROR_TIMEOUT_SECONDS
        while not client.get("/ai/errors").json()["Errors"]:
            assert time.monotonic() < deadline, "the task recorded no error"
            time.sleep(0.1)


def test_provider_failures_show_in_stats_and_errors(studio: Studio, server: BackgroundServer,
                                                    new_database: str) -> None:
    page = studio.page
    with EmbeddingServer(api_key="the-right-key") as embeddings:
        create_failing_task(server, new_database, embeddings)

        studio.open(f"#/db/{new_database}/ai/stats")
        stats = page.locator(".task-stats").filter(has_text=TASK)
        expect(stats.locator(".alert").filter(has_text="Last error")).to_contain_text("401")
        expect(stats.locator("[data-stat=Complete] .stat-value")).to_have_text("0%")
        studio.shot("stats-with-error")

        page.get_by_role("navigation", name="Main").get_by_role("link", name="Errors").click()
        rows = page.locator("table.errors-table tbody tr")
        expect(rows.first).to_contain_text(TASK)
        expect(rows.first).to_contain_text("Model Inference")
        expect(rows.first).to_contain_text("401")
        expect(page.get_by_label("Task")).to_contain_text(TASK)
        studio.shot("errors")

        page.get_by_role("button", name="Delete errors").click()
        page.get_by_role("dialog").get_by_role("button", name="Delete errors").click()
        expect(page.get_by_text("The AI tasks of this database have no recorded errors.")).to_be_visible()
        expect(page.get_by_role("button", name="Delete errors")).to_be_disabled()
        studio.shot("errors-deleted")
