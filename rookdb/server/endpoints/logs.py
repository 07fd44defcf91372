"""``/admin/logs/configuration``: read and change the server's logging (``Get/SetLogsConfigurationOperation``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from rookdb.documents.logs_configuration import LogsConfiguration
from rookdb.server.requests import read_json
from rookdb.server.responses import json_response, no_content

__all__ = ["get_logs_configuration", "set_logs_configuration"]


def _logs(request: Request) -> LogsConfiguration:
    logs: LogsConfiguration = request.app.state.logs
    return logs


async def get_logs_configuration(request: Request) -> Response:
    return json_response(_logs(request).to_json())


async def set_logs_configuration(request: Request) -> Response:
    _logs(request).change(await read_json(request))
    return no_content()
