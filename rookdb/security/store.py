"""The server's own certificate store: registered client certificates in one file beside the databases.

The file is the truth: every lookup notices when another process (``rookdb certs``) changed it, and
writes take an exclusive lock around read-modify-write, so a change made anywhere takes effect on
the next request.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import orjson

from rookdb.errors import StorageError, ValidationError
from rookdb.security._files import write_file
from rookdb.security.definitions import CertificateDefinition

__all__ = ["CertificateStore"]

_Stamp = tuple[int, int, int]


class CertificateStore:
    """Certificate definitions by thumbprint, persisted as JSON (``{"Certificates": [...]}``)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._definitions: dict[str, CertificateDefinition] = {}
        self._stamp: _Stamp | None = None
        self._refresh()

    def get(self, thumbprint: str) -> CertificateDefinition | None:
        self._refresh()
        return self._definitions.get(thumbprint.upper())

    def all(self) -> list[CertificateDefinition]:
        self._refresh()
        return sorted(self._definitions.values(), key=lambda definition: (definition.name, definition.thumbprint))

    def put(self, definition: CertificateDefinition) -> None:
        with self._editing() as definitions:
            definitions[definition.thumbprint] = definition

    def delete(self, thumbprint: str) -> bool:
        with self._editing() as definitions:
            return definitions.pop(thumbprint.upper(), None) is not None

    @contextmanager
    def _editing(self) -> Iterator[dict[str, CertificateDefinition]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX)
            definitions = dict(self._read()[1])
            yield definitions
            body = {"Certificates": [definition.to_json() for definition in definitions.values()]}
            write_file(self.path, orjson.dumps(body, option=orjson.OPT_INDENT_2))
        finally:
            os.close(descriptor)
        self._refresh()

    def _refresh(self) -> None:
        stamp = self._file_stamp()
        if stamp == self._stamp:
            return
        with self._lock:
            self._stamp, self._definitions = self._read()

    def _file_stamp(self) -> _Stamp | None:
        try:
            status = self.path.stat()
        except FileNotFoundError:
            return None
        return status.st_ino, status.st_mtime_ns, status.st_size

    def _read(self) -> tuple[_Stamp | None, dict[str, CertificateDefinition]]:
        stamp = self._file_stamp()
        if stamp is None:
            return None, {}
        try:
            body = orjson.loads(self.path.read_bytes())
            definitions = [CertificateDefinition.from_json(item) for item in body["Certificates"]]
        except (OSError, orjson.JSONDecodeError, KeyError, TypeError, ValueError, ValidationError) as error:
            raise StorageError(f"The certificate store {self.path} cannot be read: {error}") from error
        return stamp, {definition.thumbprint: definition for definition in definitions}
