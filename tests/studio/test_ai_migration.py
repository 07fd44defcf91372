"""AI Hub: moving a task to another connection string. The form previews what saving would embed; the
task list and the stats show both generations while the new one is built."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from rookdb.server.runner import BackgroundServer
from rookdb.testing.embedding_server import EmbeddingServer
from tests.support.embeddings import EMBEDDING_API_KEY
from tests.support.studio import Studio
from tests.support.tasks import create_notes_task
from tests.support.waiting import wait_for

pytestmark = pytest.mark.browser

TASK = "Notes embeddings"


def test_a_migration_is_previewed_then_shows_both_generations(
        studio: Studio, server: BackgroundServer, new_database: str, srv: EmbeddingServer) -> None:
    page = studio.page
    with httpx.Client(base_url=f"{server.url}/databases/{new_database}", timeout=30) as client:
        create_notes_task(client, TASK, srv.url, EMBEDDING_API_KEY)
        client.put("/admin/connection-strings", json={
            "Name": "Small", "Identifier": "small", "ModelType": "TextEmbeddings", "Type": "Ai",
            "OpenAiSettings": {"ApiKey": EMBEDDING_API_KEY, "Endpoint": f"{srv.url}/v1",
                               "Model": "text-embedding-3-small", "Dimensions": 256}}).raise_for_status()

        def caught_up() -> bool:
            [entry] = client.get("/ai/tasks/progress").json()["Results"]
            return bool(entry["DocumentsProcessed"] == 3 and entry["State"] == "Idle")

        wait_for(caught_up, what="the first generation")
        [entry] = client.get("/ai/tasks/progress").json()["Results"]
    studio.open(f"#/db/{new_database}/ai/tasks/edit?id={entry['TaskId']}")
    page.get_by_label("Connection string", exact=True).select_option("Small")
    page.get_by_role("button", name="Preview").click()
    preview = page.locator(".plan-preview")
    expect(preview).to_contain_text("Saving migrates the task from Local to Small")
    expect(preview.locator("[data-stat=Documents] .stat-value")).to_have_text("3")
    expect(preview.locator("[data-stat='Texts to embed'] .stat-value")).to_have_text("3")
    expect(preview.locator("[data-stat='Already cached'] .stat-value")).to_have_text("0")
    studio.shot("preview")

    srv.add_fault("slow", times=None, routes=["openai"], delay=5)  # the migration stays in progress
    page.get_by_role("button", name="Save").click()
    expect(page.locator("main h1")).to_have_text("AI Tasks")
    expect(page.locator(".task-migration")).to_contain_text("Migrating to Small")
    studio.open(f"#/db/{new_database}/ai/stats")
    generations = page.locator(".task-stats").filter(has_text=TASK).locator(".generations")
    expect(generations.locator("[data-stat=Serving] .stat-value")).to_have_text("generation 0 · Local")
    expect(generations.locator("[data-stat=Building] .stat-value")).to_have_text("generation 1 · Small")
    studio.shot("generations")
    srv.clear_faults()
