"""RavenDB's protocol primitives, shared by every layer: its timestamp format, .NET ``TimeSpan``
strings, the metadata keys the server reads and writes, and the ongoing task type rookdb runs.

Timestamps are written as .NET writes a UTC ``DateTime``: seven fraction digits, ``Z``.

``TimeSpan`` strings are read in the constant ("c") format RavenDB writes,
``[-][d.]hh:mm:ss[.fffffff]``, with 1-7 fraction digits read as a decimal fraction (100 ns ticks are
truncated to microseconds). They are written as ``[-][d.]hh:mm:ss[.ffffff]``: six fraction digits,
not .NET's seven, because the official Python client reads the fraction digits as a count of
microseconds, so six digits mean the same thing to it and to .NET.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rookdb.errors import ValidationError

__all__ = [
    "ATTACHMENTS",
    "CHANGE_VECTOR",
    "EMBEDDINGS_GENERATION",
    "EXPIRES",
    "FLAGS",
    "LAST_MODIFIED",
    "format_timespan",
    "format_timestamp",
    "parse_timespan",
    "parse_timestamp",
]

# Metadata keys the server owns or acts on.
ATTACHMENTS = "@attachments"
CHANGE_VECTOR = "@change-vector"
EXPIRES = "@expires"
FLAGS = "@flags"
LAST_MODIFIED = "@last-modified"

# The ongoing task type (``OngoingTaskType``) and ETL type of an embeddings generation task.
EMBEDDINGS_GENERATION = "EmbeddingsGeneration"

_TIMESPAN = re.compile(r"(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?")
_TICKS_PER_MICROSECOND = 10
_FRACTION_DIGITS = 7
_PYTHON_FRACTION_DIGITS = 6


def format_timestamp(moment: datetime | None = None) -> str:
    """``moment`` (timezone-aware; now when None) in RavenDB's timestamp format: UTC, seven fraction
    digits, ``Z``."""
    moment = datetime.now(UTC) if moment is None else moment.astimezone(UTC)
    if moment.year < 1000:  # strftime leaves such a year unpadded
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"
    # isoformat writes the same as strftime from here on, in a third of its time (once per query and more)
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "0Z"


def parse_timestamp(value: Any) -> datetime | None:
    """A UTC datetime from an ISO 8601 timestamp (any fraction length); None if unreadable.

    A value without a zone is UTC, as RavenDB reads it.
    """
    if not isinstance(value, str) or not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        # Python reads at most six fraction digits; RavenDB writes seven.
        kept = min(digits, _PYTHON_FRACTION_DIGITS)
        text = f"{head}.{rest[:kept]}{rest[digits:]}" if digits else head + rest
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def parse_timespan(text: str, field: str = "TimeSpan") -> timedelta:
    """Parse a .NET TimeSpan string; ``ValidationError`` naming ``field`` when it is malformed."""
    match = _TIMESPAN.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValidationError(field, f"{text!r} is not a TimeSpan; expected 'd.hh:mm:ss' or 'hh:mm:ss'")
    sign, days, hours, minutes, seconds, fraction = match.groups()
    if int(hours) > 23 or int(minutes) > 59 or int(seconds) > 59:
        raise ValidationError(field, f"{text!r} is not a TimeSpan; hours, minutes or seconds out of range")
    ticks = int((fraction or "").ljust(_FRACTION_DIGITS, "0"))
    value = timedelta(
        days=int(days or 0),
        hours=int(hours),
        minutes=int(minutes),
        seconds=int(seconds),
        microseconds=ticks // _TICKS_PER_MICROSECOND,
    )
    return -value if sign else value


def format_timespan(value: timedelta) -> str:
    """Render ``value`` as RavenDB does: ``"90.00:00:00"``, ``"14:00:00"``, ``"00:00:01.500000"``."""
    if value < timedelta(0):
        return "-" + format_timespan(-value)
    hours, rest = divmod(value.seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    text = f"{value.days}." if value.days else ""
    text += f"{hours:02d}:{minutes:02d}:{seconds:02d}"
    if value.microseconds:
        text += f".{value.microseconds:06d}"
    return text
