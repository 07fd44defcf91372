"""``rookdb tasks watch``: the embeddings tasks of a database as live progress bars (or one table).

It is an HTTP client of a running server, polling ``GET /databases/{db}/ai/tasks/progress``.
"""

from __future__ import annotations

import ssl
import time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TaskProgressColumn, TextColumn
from rich.table import Table

from rookdb.errors import RookError

__all__ = [
    "DEFAULT_WATCH_INTERVAL_SECONDS",
    "PIPE_WIDTH",
    "REQUEST_TIMEOUT_SECONDS",
    "fetch_progress",
    "is_settled",
    "progress_table",
    "server_answer",
    "tls_verify",
    "watch",
]

DEFAULT_WATCH_INTERVAL_SECONDS = 1.0
REQUEST_TIMEOUT_SECONDS = 10.0
# Wide enough for every column when the output is not a terminal (a pipe, a CI log).
PIPE_WIDTH = 160
# BudgetExhausted: nothing more is embedded before the next UTC day (or a raised budget).
_SETTLED_STATES = frozenset({"Idle", "Disabled", "Failed", "BudgetExhausted"})


def fetch_progress(client: httpx.Client, database: str) -> list[dict[str, Any]]:
    """The server's progress entries; a ``RookError`` with the server's message when it refuses."""
    try:
        response = client.get(f"/databases/{database}/ai/tasks/progress")
    except httpx.HTTPError as error:
        raise RookError(f"cannot reach {client.base_url}: {error}") from error
    results: list[dict[str, Any]] = server_answer(response).get("Results", [])
    return results


def server_answer(response: httpx.Response) -> Any:
    """The JSON of a 200 answer; a ``RookError`` with the server's message otherwise."""
    if response.status_code != 200:
        try:
            message = response.json().get("Message")
        except ValueError:
            message = None
        raise RookError(message or f"{response.request.url} answered {response.status_code}")
    return response.json()


def is_settled(entry: dict[str, Any]) -> bool:
    """Nothing left to do for now: idle and caught up, disabled, failed, or out of today's budget."""
    state = entry.get("State")
    if state == "Idle":
        return int(entry.get("DocumentsProcessed", 0)) >= int(entry.get("DocumentsTotal", 0))
    return state in _SETTLED_STATES


def _tokens(counts: dict[str, Any]) -> str:
    """Tokens, marked ≈ when some of them are estimated (length / 4) rather than reported or counted."""
    return f"{'≈' if counts.get('EstimatedTokens') else ''}{int(counts.get('Tokens', 0)):,}"


def _today(entry: dict[str, Any]) -> dict[str, Any]:
    today: dict[str, Any] = (entry.get("Usage") or {}).get("Today") or {}
    return today


def _spent(entry: dict[str, Any]) -> str:
    """Money spent today and saved by the cache, when the connection string has a price."""
    today = _today(entry)
    if "Spent" not in today:
        return ""
    return f"{today['Spent']:.4f} spent, {today['Saved']:.4f} saved"


def _budget(entry: dict[str, Any]) -> str:
    limit = entry.get("DailyTokenBudget")
    if limit is None:
        return ""
    text = f"{int(entry.get('BudgetRemainingToday') or 0):,} of {int(limit):,} left"
    if entry.get("State") == "BudgetExhausted" and entry.get("BudgetResumesAt"):
        text += f", resumes {entry['BudgetResumesAt']}"
    return text


def _detail(entry: dict[str, Any]) -> str:
    text = (f"{entry.get('State')} · {entry.get('Health')} · {entry.get('CacheHits', 0)} cache hits · "
            f"{entry.get('ProviderCalls', 0)} calls · {_tokens(_today(entry))} tokens today · "
            f"{entry.get('ThroughputPerSecond', 0):.1f} docs/s")
    for extra in (_spent(entry), _budget(entry)):
        if extra:
            text += f" · {extra}"
    if entry.get("LastError") and entry.get("State") in ("Fallback", "Failed"):
        text += f" · {entry['LastError']}"
    migration = _migration(entry)
    if migration:
        text += f" · {migration}"
    return text


def _migration(entry: dict[str, Any]) -> str:
    """The generation being built beside the serving one, while the task migrates."""
    migration = entry.get("Migration")
    if not migration:
        return ""
    return (f"migrating {entry.get('ServingConnectionStringName')} (generation {entry.get('Generation', 0)}) → "
            f"{migration.get('ConnectionStringName')} (generation {migration.get('Generation')}): "
            f"{int(migration.get('DocumentsProcessed', 0)):,}/{int(migration.get('DocumentsTotal', 0)):,}")


def progress_table(entries: list[dict[str, Any]]) -> Table:
    table = Table(title="Embeddings tasks")
    # The name and state never fold: what is cut is the detail (today's cost, the last error).
    for column in ("Task", "State"):
        table.add_column(column, no_wrap=True)
    for column in ("Health", "Processed", "Total", "Chunks", "Cache hits", "Provider calls", "Tokens", "Today",
                   "Docs/s", "Migration", "Last error"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        today = " · ".join(part for part in (f"{_tokens(_today(entry))} tokens", _spent(entry), _budget(entry)) if part)
        table.add_row(
            str(entry.get("Name")), str(entry.get("State")), str(entry.get("Health")),
            str(entry.get("DocumentsProcessed", 0)), str(entry.get("DocumentsTotal", 0)), str(entry.get("Chunks", 0)),
            str(entry.get("CacheHits", 0)), str(entry.get("ProviderCalls", 0)), _tokens(entry), today,
            f"{entry.get('ThroughputPerSecond', 0):.1f}", _migration(entry), str(entry.get("LastError") or ""))
    return table


def tls_verify(certificate: Path | None, ca: Path | None) -> ssl.SSLContext | bool:
    """TLS settings for a secured server: its CA, and the client certificate (PEM with its key) to present."""
    if certificate is None and ca is None:
        return True
    context = ssl.create_default_context(cafile=str(ca) if ca is not None else None)
    if certificate is not None:
        context.load_cert_chain(str(certificate))
    return context


def watch(url: str, database: str, *, once: bool = False, interval: float = DEFAULT_WATCH_INTERVAL_SECONDS,
          console: Console | None = None, certificate: Path | None = None, ca: Path | None = None) -> int:
    """Show progress until every task is settled (``once``: print one table). Returns the exit code.

    On a secured server ``certificate`` (PEM with its key) authenticates and ``ca`` verifies the server.
    """
    console = console or Console(width=None if Console().is_terminal else PIPE_WIDTH)
    with httpx.Client(base_url=url.rstrip("/"), timeout=REQUEST_TIMEOUT_SECONDS,
                      verify=tls_verify(certificate, ca)) as client:
        entries = fetch_progress(client, database)
        if once or not entries:
            if entries:
                console.print(progress_table(entries))
            else:
                console.print(f"Database {database} has no embeddings tasks.")
            return 0
        columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
                   TextColumn("{task.fields[detail]}"))
        with Progress(*columns, console=console) as bars:
            shown: dict[int, TaskID] = {}
            while True:
                for entry in entries:
                    task_id = int(entry["TaskId"])
                    completed = int(entry.get("DocumentsProcessed", 0))
                    total = max(int(entry.get("DocumentsTotal", 0)), 1)
                    if task_id not in shown:
                        shown[task_id] = bars.add_task(str(entry.get("Name")), total=total, completed=completed,
                                                       detail=_detail(entry))
                    else:
                        bars.update(shown[task_id], total=total, completed=completed, detail=_detail(entry))
                if all(is_settled(entry) for entry in entries):
                    return 0
                time.sleep(interval)
                entries = fetch_progress(client, database)
