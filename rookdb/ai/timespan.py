""".NET ``TimeSpan`` strings on the wire (``"90.00:00:00"``, ``"14:30:00"``) ↔ ``timedelta``.

Accepted: ``[-][d.]hh:mm:ss[.fffffff]``, the constant ("c") format RavenDB writes, with 1-7
fraction digits read as a decimal fraction (100 ns ticks are truncated to microseconds).

Written: ``[-][d.]hh:mm:ss[.ffffff]``. The fraction has six digits, not .NET's seven, because the
official Python client reads the fraction digits as a count of microseconds: six digits mean the
same thing to it and to .NET.
"""

from __future__ import annotations

import re
from datetime import timedelta

from rookdb.errors import ValidationError

__all__ = ["format_timespan", "parse_timespan"]

_TIMESPAN = re.compile(r"(-)?(?:(\d+)\.)?(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d{1,7}))?")
_TICKS_PER_MICROSECOND = 10
_FRACTION_DIGITS = 7


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
