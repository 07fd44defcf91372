"""The server's log verbosity as RavenDB's logs configuration describes it (``Get/SetLogsConfigurationOperation``).

``Logs.Mode`` is the configured mode; the current mode can be changed at run time and lasts until
the server stops. ``None`` keeps warnings and errors only, ``Operations`` adds what the server does,
``Information`` everything. rookdb logs to the process's standard error, so there is no log path and
the retention values are kept as given, for the clients that set them.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from rookdb.errors import BadRequestError, ValidationError
from rookdb.settings import Settings
from rookdb.wire import format_timespan, parse_timespan

__all__ = ["LOG_MODES", "LogsConfiguration"]

LOG_MODES = {"None": logging.WARNING, "Operations": logging.INFO, "Information": logging.DEBUG}
_DEFAULT_RETENTION = timedelta(days=3)
_LOGGER = "rookdb"


class LogsConfiguration:
    def __init__(self, settings: Settings) -> None:
        self.mode = str(settings["Logs.Mode"])
        if self.mode not in LOG_MODES:
            raise ValidationError("Logs.Mode", f"must be one of {', '.join(LOG_MODES)}, got {self.mode!r}")
        self.current_mode = self.mode
        self.retention_time = _DEFAULT_RETENTION
        self.retention_size: int | None = None
        self.compress = False
        logging.getLogger(_LOGGER).setLevel(LOG_MODES[self.mode])

    def to_json(self) -> dict[str, Any]:
        return {"CurrentMode": self.current_mode, "Mode": self.mode, "Path": None, "UseUtcTime": True,
                "RetentionTime": format_timespan(self.retention_time), "RetentionSize": self.retention_size,
                "Compress": self.compress}

    def change(self, body: Any) -> None:
        """Apply ``{"Mode", "RetentionTime", "RetentionSize", "Compress"}`` to the running server."""
        if not isinstance(body, dict) or body.get("Mode") not in LOG_MODES:
            raise BadRequestError(f"Mode must be one of {', '.join(LOG_MODES)}.")
        retention = body.get("RetentionTime")
        size = body.get("RetentionSize")
        if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 0):
            raise BadRequestError("RetentionSize must be a non-negative number of bytes.")
        try:
            self.retention_time = parse_timespan(retention, "RetentionTime") if retention else _DEFAULT_RETENTION
        except ValidationError as error:
            raise BadRequestError(error.message) from error
        self.retention_size = size
        self.compress = bool(body.get("Compress"))
        self.current_mode = str(body["Mode"])
        logging.getLogger(_LOGGER).setLevel(LOG_MODES[self.current_mode])
