"""The audit log: who (certificate and name) reached which database, allowed or refused, and certificate changes.

One line per event in ``<folder>/audit.log``, readable by the machine's users (it holds no secret).
An allowed access is written once per connection, certificate and database (as RavenDB audits
connections); every refusal and every certificate change is written.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from rookdb.security.authentication import Identity

__all__ = ["AuditLog"]

_REMEMBERED_ACCESSES = 4096  # (connection, certificate, database) triples remembered to write each allowed access once


class AuditLog:
    """Appends audit lines to ``<folder>/audit.log``; safe to call from any thread."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / "audit.log"
        self._lock = threading.Lock()
        self._handle: TextIO | None = self.path.open("a", encoding="utf-8", buffering=1)
        self._seen: OrderedDict[tuple[str, str, str], None] = OrderedDict()

    def access(self, identity: Identity, *, method: str, path: str, database: str | None, client: str,
               refusal: str | None) -> None:
        if refusal is None:
            key = (client, _thumbprint(identity), database or "")
            with self._lock:
                if key in self._seen:
                    return
                self._seen[key] = None
                if len(self._seen) > _REMEMBERED_ACCESSES:
                    self._seen.popitem(last=False)
        verdict = "ALLOWED" if refusal is None else "REFUSED"
        reason = "" if refusal is None else f' reason="{_one_line(refusal)}"'
        self._write(f"{verdict} {method} {path} database={database or '-'} {_who(identity)} client={client}{reason}")

    def certificate_change(self, action: str, caller: Identity, *, name: str, thumbprint: str, detail: str) -> None:
        self._write(f"CERTIFICATE {action} name=\"{_one_line(name)}\" thumbprint={thumbprint} {detail} "
                    f"by {_who(caller)}")

    def close(self) -> None:
        with self._lock:
            if self._handle is not None:
                self._handle.close()
                self._handle = None

    def _write(self, line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._lock:
            if self._handle is not None:
                self._handle.write(f"{stamp} {line}\n")


def _thumbprint(identity: Identity) -> str:
    return identity.certificate.thumbprint if identity.certificate is not None else "-"


def _who(identity: Identity) -> str:
    if identity.certificate is None:
        return "certificate=- status=" + str(identity.status)
    name = identity.definition.name if identity.definition is not None else identity.certificate.subject
    clearance = identity.clearance or "-"
    return (f'certificate={identity.certificate.thumbprint} name="{_one_line(name)}" clearance={clearance} '
            f"status={identity.status}")


def _one_line(text: str) -> str:
    return text.replace("\n", " ").replace('"', "'")
