from __future__ import annotations

import asyncio
import io
import re
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from rookdb.server.access_log import AccessLog
from rookdb.server.runner import _config
from rookdb.settings import Settings
from rookdb.testing.server_process import ServerProcess


async def _hello(request: Request) -> Response:
    return PlainTextResponse("hello", status_code=201)


async def _broken(request: Request) -> Response:
    raise RuntimeError("boom")


def _app() -> Starlette:
    return Starlette(routes=[Route("/hello", _hello), Route("/broken", _broken)])


async def _requests(log: AccessLog, *paths: str) -> None:
    transport = httpx.ASGITransport(app=log, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        for path in paths:
            await client.get(path)


def test_each_request_is_one_line_with_its_status_and_time_written_in_one_batch() -> None:
    stream = io.StringIO()
    log = AccessLog(_app(), stream, flush_seconds=0.05)

    async def run() -> None:
        await _requests(log, "/hello?id=products/1-A", "/missing", "/broken")
        assert stream.getvalue() == ""  # gathered, not yet written
        await asyncio.sleep(0.2)

    asyncio.run(run())
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3
    assert re.fullmatch(r'127\.0\.0\.1:\d+ - "GET /hello\?id=products/1-A HTTP/1\.1" 201 \d+\.\d ms', lines[0])
    assert '"GET /missing HTTP/1.1" 404 ' in lines[1]
    assert '"GET /broken HTTP/1.1" 500 ' in lines[2]


def test_lines_still_gathered_are_written_when_the_server_shuts_down() -> None:
    stream = io.StringIO()
    log = AccessLog(_app(), stream, flush_seconds=3600)

    async def run() -> None:
        await _requests(log, "/hello")
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[str] = []

        async def receive() -> dict[str, str]:
            return next(messages)

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message["type"])

        await log({"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}, receive, send)
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]

    asyncio.run(run())
    assert '"GET /hello HTTP/1.1" 201' in stream.getvalue()


@pytest.mark.parametrize(("enabled", "log_level", "logged"), [
    (True, "info", True), (False, "info", False), (True, "warning", False)])
def test_the_setting_and_the_log_level_decide_whether_requests_are_logged(
        tmp_path: Path, enabled: bool, log_level: str, logged: bool) -> None:
    settings = Settings({"Server.AccessLog": enabled, "Server.DataDir": str(tmp_path)})
    config, security = _config(settings, tmp_path, log_level)
    security.close()
    assert isinstance(config.app, AccessLog) is logged
    assert config.access_log is False  # uvicorn's own access log stays off either way


def test_the_log_names_the_connection_peer_whatever_forwarding_headers_say(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with ServerProcess(tmp_path / "data", log=log) as server:
        response = httpx.get(f"{server.url}/build/version",
                             headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"})
        assert response.status_code == 200
        time.sleep(0.5)  # the log writes its lines in batches
    lines = [line for line in log.read_text().splitlines() if "GET /build/version" in line]
    assert lines and all(line.startswith("127.0.0.1:") for line in lines), lines
    assert "203.0.113.9" not in log.read_text()


def test_loads_answered_on_the_fast_path_are_logged(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    with ServerProcess(tmp_path / "data", log=log) as server:
        httpx.put(f"{server.url}/admin/databases", params={"name": "Logged"},
                  json={"DatabaseName": "Logged"}).raise_for_status()
        httpx.put(f"{server.url}/databases/Logged/docs", params={"id": "orders/1"}, json={"Total": 1}
                  ).raise_for_status()
        assert httpx.get(f"{server.url}/databases/Logged/docs?id=orders/1").status_code == 200
        assert httpx.get(f"{server.url}/databases/Logged/docs?id=orders/2").status_code == 404
        time.sleep(0.5)  # the log writes its lines in batches
    text = log.read_text()
    assert re.search(r'"GET /databases/Logged/docs\?id=orders/1 HTTP/1\.1" 200 \d+\.\d ms', text), text
    assert re.search(r'"GET /databases/Logged/docs\?id=orders/2 HTTP/1\.1" 404 \d+\.\d ms', text), text
