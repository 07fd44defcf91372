"""Compare-exchange values: keys with a value and an index that changes on every write, written only
when the writer names the index it saw (0: the key must not exist yet).

On one node they live in the database's storage, so a cluster-wide session's values commit in the
same transaction as its documents. Values are stored as the client sends them:
``{"Object": <value>, "@metadata": {...}}``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.errors import BadRequestError
from rookdb.storage.base import CompareExchangeValue, WriteTransaction

__all__ = [
    "CompareExchangeOutcome",
    "delete_in",
    "delete_value",
    "get_values",
    "put_in",
    "put_value",
    "render_value",
    "validate_key",
    "values_by_prefix",
]

_MAX_KEY_BYTES = 512


@dataclass(frozen=True)
class CompareExchangeOutcome:
    """The answer to a put or delete: whether it was applied, the index now, and the value now (on
    success the new value; on failure the current one, None when the key does not exist)."""

    key: str
    index: int
    successful: bool
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {"Index": self.index, "Successful": self.successful, "Value": self.value}


def validate_key(key: Any) -> str:
    if not isinstance(key, str) or not key.strip():
        raise BadRequestError("A compare-exchange key must be a non-empty string.")
    if len(key.encode("utf-8")) > _MAX_KEY_BYTES:
        raise BadRequestError(f"A compare-exchange key can be at most {_MAX_KEY_BYTES} bytes long.")
    return key


def _validate_value(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict) or "Object" not in value:
        raise BadRequestError('A compare-exchange value must be {"Object": ..., "@metadata": {...}}.')
    metadata = value.get("@metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise BadRequestError("The @metadata of a compare-exchange value must be an object.")
    return value


def _validate_index(index: Any) -> int:
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise BadRequestError(f"A compare-exchange index must be a non-negative integer, got {index!r}.")
    return index


def render_value(value: CompareExchangeValue) -> dict[str, Any]:
    """One entry of ``GET /cmpxchg``: ``{"Key", "Index", "Value"}``."""
    return {"Key": value.key, "Index": value.index, "Value": orjson.loads(value.value)}


def put_in(tx: WriteTransaction, key: str, value: Any, index: int) -> CompareExchangeOutcome:
    """Write ``value`` if the key's index is ``index`` (0: the key must not exist)."""
    validate_key(key)
    _validate_value(value)
    _validate_index(index)
    current = tx.get_compare_exchange(key)
    current_index = current.index if current is not None else 0
    if current_index != index:
        return CompareExchangeOutcome(key, current_index, False,
                                      orjson.loads(current.value) if current is not None else None)
    written = tx.put_compare_exchange(key, value)
    return CompareExchangeOutcome(written.key, written.index, True, value)


def delete_in(tx: WriteTransaction, key: str, index: int) -> CompareExchangeOutcome:
    """Delete the key if its index is ``index``."""
    validate_key(key)
    _validate_index(index)
    current = tx.get_compare_exchange(key)
    if current is None:
        return CompareExchangeOutcome(key, 0, False, None)
    previous = orjson.loads(current.value)
    if current.index != index:
        return CompareExchangeOutcome(current.key, current.index, False, previous)
    deleted = tx.delete_compare_exchange(key)
    return CompareExchangeOutcome(current.key, deleted or current.index, True, previous)


def put_value(database: Database, key: str, value: Any, index: int) -> CompareExchangeOutcome:
    with database.storage.write() as tx:
        return put_in(tx, key, value, index)


def delete_value(database: Database, key: str, index: int) -> CompareExchangeOutcome:
    with database.storage.write() as tx:
        return delete_in(tx, key, index)


def get_values(database: Database, keys: Sequence[str]) -> list[CompareExchangeValue | None]:
    return database.storage.compare_exchange([validate_key(key) for key in keys])


def values_by_prefix(database: Database, prefix: str, start: int, page_size: int) -> list[CompareExchangeValue]:
    if start < 0 or page_size < 0:
        raise BadRequestError("start and pageSize must not be negative.")
    return database.storage.compare_exchange_by_prefix(prefix, start, page_size)
