"""``rookdb tasks plan``: what saving a change to an embeddings task would embed, before it is saved.

An HTTP client of a running server: it posts the change (another connection string, for a migration)
to ``POST /databases/{db}/ai/tasks/plan?name=<task>`` and prints the estimate: texts and tokens to
embed, and how many the embeddings cache already holds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from rookdb.errors import RookError
from rookdb.tasks_watch import PIPE_WIDTH, server_answer, tls_verify

__all__ = ["PLAN_TIMEOUT_SECONDS", "fetch_plan", "plan", "plan_summary", "plan_table"]

# The server plans every document of the collection (a script task runs its script on each).
PLAN_TIMEOUT_SECONDS = 300.0


def fetch_plan(client: httpx.Client, database: str, task: str, changes: dict[str, Any]) -> dict[str, Any]:
    """The server's estimate for task ``task`` with ``changes`` applied to its configuration."""
    try:
        response = client.post(f"/databases/{database}/ai/tasks/plan", params={"name": task}, json=changes)
    except httpx.HTTPError as error:
        raise RookError(f"cannot reach {client.base_url}: {error}") from error
    answer: dict[str, Any] = server_answer(response)
    return answer


def plan_summary(plan: dict[str, Any]) -> str:
    change = (f"{plan['CurrentConnectionStringName']} → {plan['ConnectionStringName']} (migration)"
              if plan.get("Migration") else str(plan.get("ConnectionStringName")))
    return f"Task '{plan.get('TaskName')}' on {plan.get('Collection')}: {change}"


def plan_table(plan: dict[str, Any]) -> Table:
    estimated = "≈" if plan.get("TokensEstimated") else ""
    table = Table(title="What it would embed")
    table.add_column("", no_wrap=True)
    table.add_column("Texts", justify="right")
    table.add_column("Tokens", justify="right")
    table.add_row("Documents", f"{int(plan.get('Documents', 0)):,}", "")
    table.add_row("Texts (chunks)", f"{int(plan.get('Texts', 0)):,}", "")
    table.add_row("Distinct texts", f"{int(plan.get('UniqueTexts', 0)):,}", "")
    table.add_row("Already in the cache", f"{int(plan.get('CachedTexts', 0)):,}",
                  f"{estimated}{int(plan.get('CachedTokens', 0)):,}")
    table.add_row("To embed", f"{int(plan.get('TextsToEmbed', 0)):,}",
                  f"{estimated}{int(plan.get('TokensToEmbed', 0)):,}")
    if plan.get("Cost") is not None:
        table.add_row("Cost", "", f"{float(plan['Cost']):.4f}")
    return table


def plan(url: str, database: str, task: str, *, connection_string: str | None = None,
         console: Console | None = None, certificate: Path | None = None, ca: Path | None = None) -> int:
    """Print the estimate for ``task`` moved to ``connection_string`` (or as it is). Returns the exit code."""
    console = console or Console(width=None if Console().is_terminal else PIPE_WIDTH)
    changes = {} if connection_string is None else {"ConnectionStringName": connection_string}
    with httpx.Client(base_url=url.rstrip("/"), timeout=PLAN_TIMEOUT_SECONDS,
                      verify=tls_verify(certificate, ca)) as client:
        answer = fetch_plan(client, database, task, changes)
    console.print(plan_summary(answer), soft_wrap=True)
    console.print(plan_table(answer))
    return 0
