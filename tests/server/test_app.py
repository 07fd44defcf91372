"""The app under a real uvicorn server: what a failure no handler expected looks like, on the wire and in the log."""

from __future__ import annotations

import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from rookdb.server.app import create_app
from rookdb.server.runner import free_port
from rookdb.settings import Settings
from tests.support.waiting import wait_for


class _Unexpected(Exception):
    """Stands for a bug: an exception no rookdb code translates."""


async def _fail(request: Request) -> Response:
    raise _Unexpected("boom")


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def failing_server(tmp_path: Path) -> Iterator[str]:
    """A rookdb app with one extra route that raises, served by uvicorn on a loopback port."""
    app = create_app(Settings(), data_dir=tmp_path)
    app.router.routes.append(Route("/test/fail", _fail))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


@pytest.mark.slow  # the log under test is uvicorn's: a real server runs
def test_unhandled_error_is_a_500_envelope_logged_once(failing_server: str) -> None:
    records = _Records()
    watched = [logging.getLogger(name) for name in ("rookdb", "uvicorn")]

    def logged() -> list[logging.LogRecord]:
        return [r for r in records.records if r.exc_info and isinstance(r.exc_info[1], _Unexpected)]

    for logger in watched:
        logger.addHandler(records)
    try:
        response = httpx.get(f"{failing_server}/test/fail?x=1", timeout=30)
        # The server logs after the answer has gone: wait for the record, then let a later request
        # through the same event loop show that no second one follows.
        wait_for(logged, what="the error to be logged")
        assert httpx.get(f"{failing_server}/build/version", timeout=30).status_code == 200
    finally:
        for logger in watched:
            logger.removeHandler(records)
    assert response.status_code == 500
    body = response.json()
    assert body["Type"] == "Raven.Client.Exceptions.RavenException" and "_Unexpected" in body["Message"]
    assert body["Url"] == "/test/fail?x=1" and "boom" not in response.text  # no traceback on the wire
    errors = logged()
    assert len(errors) == 1, [f"{r.name}: {r.getMessage()}" for r in errors]
    [error] = errors
    assert error.exc_info is not None
    assert "While answering GET /test/fail" in logging.Formatter().formatException(error.exc_info)


_LIFESPAN = """
import asyncio, sys
from pathlib import Path
from rookdb.query.parser import parser_prepared
from rookdb.server.app import create_app
from rookdb.settings import Settings

app = create_app(Settings(), data_dir=Path(sys.argv[1]))

async def main() -> None:
    before = parser_prepared()
    async with app.router.lifespan_context(app):
        print(before, parser_prepared())

asyncio.run(main())
"""


def test_the_server_compiles_the_rql_parser_before_serving(tmp_path: Path) -> None:
    # A fresh process: this one compiled the parser long ago.
    done = subprocess.run([sys.executable, "-c", _LIFESPAN, str(tmp_path)], capture_output=True, text=True,
                          timeout=120, check=True)
    assert done.stdout.split() == ["False", "True"]
