"""HiLo id ranges as RavenDB keeps them: in documents ``Raven/Hilo/<tag>`` (collection ``@hilo``)
whose ``Max`` is the highest id handed out.

A range's capacity doubles when the client asks again within 30 seconds of its previous range (up to
1M), halves when it waited more than a minute (down to 32), and stays otherwise. Closing a store gives
the unused tail back while its range is still the newest one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from rookdb.documents.database import Database
from rookdb.storage.base import WriteTransaction
from rookdb.wire import format_timestamp, parse_timestamp

__all__ = ["HILO_COLLECTION", "HILO_PREFIX", "HiloRange", "capacity_for", "next_range", "return_range"]

HILO_PREFIX = "Raven/Hilo/"
HILO_COLLECTION = "@hilo"

_MIN_CAPACITY = 32
_MAX_CAPACITY = 1024 * 1024
_GROW_WITHIN_S = 30.0
_SHRINK_AFTER_S = 60.0


@dataclass(frozen=True)
class HiloRange:
    prefix: str
    low: int
    high: int
    last_size: int
    last_range_at: str

    def to_json(self) -> dict[str, Any]:
        return {
            "Prefix": self.prefix, "Low": self.low, "High": self.high, "LastSize": self.last_size,
            "ServerTag": "A", "LastRangeAt": self.last_range_at,
        }


def capacity_for(last_size: int, last_range_at: str | None, now: datetime) -> int:
    """The size of the next range, from the previous one's size and when it was handed out."""
    if last_size <= 0:
        return _MIN_CAPACITY
    previous = parse_timestamp(last_range_at)
    if previous is None:
        return max(_MIN_CAPACITY, last_size)
    elapsed = (now - previous).total_seconds()
    if elapsed < _GROW_WITHIN_S:
        return min(last_size * 2, _MAX_CAPACITY)
    if elapsed > _SHRINK_AFTER_S:
        return max(_MIN_CAPACITY, last_size // 2)
    return max(_MIN_CAPACITY, last_size)


def _stored(tx: WriteTransaction, document_id: str) -> dict[str, Any]:
    """The HiLo document as stored (a client may have written it, in a collection of its own)."""
    document = tx.get(document_id)
    return orjson.loads(document.body) if document is not None else {"@metadata": {"@collection": HILO_COLLECTION}}


def _max_of(body: dict[str, Any]) -> int:
    value = body.get("Max")
    return int(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0


def _store_max(database: Database, tx: WriteTransaction, document_id: str, body: dict[str, Any], value: int) -> None:
    database.put_in(tx, document_id, {**body, "Max": value})


def next_range(database: Database, tag: str, last_batch_size: int, last_range_at: str | None, last_max: int,
               separator: str = "/") -> HiloRange:
    """Reserve the next range of ids for ``tag`` (``GET /hilo/next``)."""
    now = datetime.now(UTC)
    capacity = capacity_for(last_batch_size, last_range_at, now)
    document_id = HILO_PREFIX + tag
    with database.storage.write() as tx:
        body = _stored(tx, document_id)
        current = max(_max_of(body), last_max)
        _store_max(database, tx, document_id, body, current + capacity)
    return HiloRange(f"{tag}{separator}", current + 1, current + capacity, capacity,
                     format_timestamp(now))


def return_range(database: Database, tag: str, end: int, last: int) -> None:
    """Give back ``last+1..end`` (``PUT /hilo/return``) when no newer range was handed out since."""
    document_id = HILO_PREFIX + tag
    with database.storage.write() as tx:
        body = _stored(tx, document_id)
        if _max_of(body) != end or last >= end:
            return
        _store_max(database, tx, document_id, body, last)
