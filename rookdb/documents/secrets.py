"""Secrets at rest: API keys and service-account JSON are sealed with a server master key.

The master key lives outside every database file (default ``<data dir>/master.key``, created on
first start with owner-only permissions, or a path the user gives), so a copied database file does
not carry usable credentials. Sealed values are ``"rookdb-sealed:v1:<base64(nonce + ciphertext)>"``.
"""

from __future__ import annotations

import base64
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from rookdb.errors import StorageError

__all__ = ["SEALED_PREFIX", "SecretBox", "is_sealed", "load_or_create_master_key"]

SEALED_PREFIX = "rookdb-sealed:v1:"
_KEY_BYTES = 32
_NONCE_BYTES = 12


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key, creating it (mode 0600) when the file does not exist."""
    if path.exists():
        encoded = path.read_bytes().strip()
        try:
            key = base64.b64decode(encoded, validate=True)
        except ValueError as error:
            raise StorageError(f"The master key file {path} is not valid base64.") from error
        if len(key) != _KEY_BYTES:
            raise StorageError(f"The master key in {path} must be {_KEY_BYTES} bytes.")
        return key
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_bytes(_KEY_BYTES)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(base64.b64encode(key) + b"\n")
    return key


class SecretBox:
    """Seals and opens secret strings with AES-256-GCM under the master key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, value: str) -> str:
        nonce = secrets.token_bytes(_NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, value.encode("utf-8"), SEALED_PREFIX.encode())
        return SEALED_PREFIX + base64.b64encode(nonce + sealed).decode("ascii")

    def open(self, value: str) -> str:
        if not is_sealed(value):
            return value
        raw = base64.b64decode(value[len(SEALED_PREFIX):])
        try:
            plain = self._aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], SEALED_PREFIX.encode())
        except InvalidTag as error:
            raise StorageError(
                "A stored secret cannot be decrypted with this server's master key "
                "(was the database copied from another server?).") from error
        return plain.decode("utf-8")


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(SEALED_PREFIX)
