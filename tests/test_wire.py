"""RavenDB's wire primitives: timestamps and .NET TimeSpan strings, as the official client reads them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from ravendb.tools.utils import Utils

from rookdb.errors import ValidationError
from rookdb.wire import format_timespan, format_timestamp, parse_timespan, parse_timestamp


def test_timestamps_have_seven_fraction_digits_in_utc() -> None:
    moment = datetime(2026, 3, 1, 14, 30, 15, 123456, tzinfo=UTC)
    assert format_timestamp(moment) == "2026-03-01T14:30:15.1234560Z"


@pytest.mark.parametrize(("text", "expected"), [
    ("2026-03-01T12:30:15.1234567Z", datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)),
    ("2026-03-01T12:30:15Z", datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)),
    ("2026-03-01T12:30:15", datetime(2026, 3, 1, 12, 30, 15, tzinfo=UTC)),
    ("2026-03-01T14:30:15.5+02:00", datetime(2026, 3, 1, 12, 30, 15, 500000, tzinfo=UTC)),
    ("not a date", None),
    (42, None),
    (None, None),
])
def test_parse_timestamp_reads_what_clients_write(text: object, expected: datetime | None) -> None:
    assert parse_timestamp(text) == expected


def test_format_then_parse_round_trips() -> None:
    moment = datetime.now(UTC)
    assert parse_timestamp(format_timestamp(moment)) == moment


@pytest.mark.parametrize("moment", [
    datetime(2026, 12, 8, 2, 14, 8, 889065, tzinfo=UTC),
    datetime(2026, 12, 8, 2, 14, 8, tzinfo=UTC),  # no microseconds: still six digits, then the seventh
    datetime(2026, 12, 8, 4, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),  # converted to UTC
    datetime(1000, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC),  # strftime's own form below the year 1000
    datetime(5, 1, 2, tzinfo=UTC),
])
def test_timestamps_are_written_as_strftime_writes_them(moment: datetime) -> None:
    assert format_timestamp(moment) == moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f") + "0Z"


def test_timestamps_sorted_as_text_sorts_by_time() -> None:
    earlier = format_timestamp(datetime(2026, 1, 1, tzinfo=UTC))
    later = format_timestamp(datetime(2026, 1, 1, tzinfo=UTC) + timedelta(microseconds=1))
    assert earlier < later


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("90.00:00:00", timedelta(days=90)),
        ("14.00:00:00", timedelta(days=14)),
        ("00:00:00", timedelta(0)),
        ("01:02:03", timedelta(hours=1, minutes=2, seconds=3)),
        ("1:02:03", timedelta(hours=1, minutes=2, seconds=3)),
        ("1.23:59:59", timedelta(days=1, hours=23, minutes=59, seconds=59)),
        ("00:00:01.5", timedelta(seconds=1, microseconds=500000)),
        ("00:00:01.500000", timedelta(seconds=1, microseconds=500000)),
        ("00:00:00.0000010", timedelta(microseconds=1)),
        ("00:00:00.1234567", timedelta(microseconds=123456)),
        ("-1.02:00:00", -timedelta(days=1, hours=2)),
        (" 3.00:00:00 ", timedelta(days=3)),
    ],
)
def test_parse_timespan(text: str, value: timedelta) -> None:
    assert parse_timespan(text) == value


@pytest.mark.parametrize(
    "text", ["", "90", "90 days", "24:00:00", "00:60:00", "00:00:60", "1.2.03:00:00", "00:00:00.12345678"]
)
def test_parse_timespan_rejects(text: str) -> None:
    with pytest.raises(ValidationError) as raised:
        parse_timespan(text, "EmbeddingsCacheExpiration")
    assert raised.value.field == "EmbeddingsCacheExpiration"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(days=90), "90.00:00:00"),
        (timedelta(days=14), "14.00:00:00"),
        (timedelta(hours=5, minutes=4, seconds=3), "05:04:03"),
        (timedelta(0), "00:00:00"),
        (timedelta(days=2, seconds=1, microseconds=250000), "2.00:00:01.250000"),
        (timedelta(microseconds=7), "00:00:00.000007"),
        (-timedelta(days=1, hours=2), "-1.02:00:00"),
    ],
)
def test_format_timespan(value: timedelta, text: str) -> None:
    assert format_timespan(value) == text
    assert parse_timespan(text) == value


@pytest.mark.parametrize(
    "value",
    [
        timedelta(days=90),
        timedelta(days=14),
        timedelta(hours=3, seconds=9),
        timedelta(days=1, microseconds=1),
        timedelta(seconds=59, microseconds=999999),
    ],
)
def test_timespans_agree_with_the_client(value: timedelta) -> None:
    text = format_timespan(value)
    assert text == Utils.timedelta_to_str(value)
    assert Utils.string_to_timedelta(text) == value
    assert parse_timespan(Utils.timedelta_to_str(value)) == value
