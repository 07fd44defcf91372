"""What a server keeps beside its databases: the server-wide client configuration.

One small JSON file in the data directory, replaced atomically on every change.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

import orjson

from rookdb.documents.database_record import render_client_configuration, validate_client_configuration
from rookdb.errors import StorageError

__all__ = ["SERVER_RECORD_FILE", "ServerRecord"]

SERVER_RECORD_FILE = "server-record.json"


class ServerRecord:
    """The server-level record: read whole, changed under a lock, written atomically."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._values: dict[str, Any] = {}
        if path.exists():
            try:
                self._values = orjson.loads(path.read_bytes())
            except (OSError, orjson.JSONDecodeError) as error:
                raise StorageError(f"The server record {path.name} cannot be read: {error}") from error

    @property
    def etag(self) -> int:
        return int(self._values.get("Etag", 0))

    def client_configuration(self) -> dict[str, Any] | None:
        """The server-wide client configuration in the client's shape, or None when never set."""
        return render_client_configuration(self._values.get("Client"), self.etag)

    def put_client_configuration(self, configuration: Any) -> int:
        clean = validate_client_configuration(configuration)
        with self._lock:
            values = {**self._values, "Client": clean, "Etag": self.etag + 1}
            self._write(values)
            self._values = values
            return self.etag

    def _write(self, values: dict[str, Any]) -> None:
        temporary = self._path.with_suffix(".tmp")
        try:
            temporary.write_bytes(orjson.dumps(values))
            os.replace(temporary, self._path)
        except OSError as error:
            raise StorageError(f"The server record {self._path.name} cannot be written: {error}") from error
