"""Rules the Studio applies before asking the server agree with the server's own: identifiers
generated from names (RavenDB's algorithm), identifier validity, and TimeSpan strings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from rookdb.ai.identifiers import TASK_FALLBACK_IDENTIFIER, generate_identifier, identifier_problems
from rookdb.wire import format_timespan, parse_timespan
from tests.support.studio import Studio

pytestmark = pytest.mark.browser

NAMES = [
    "My connection string to Google AI",
    "Generate embeddings from OpenAI",
    "naïve café",
    "  --Hello__World--  ",
    "ÀÉÎÕÜ ñ ç",
    "Соединение",
    "日本語 text 2",
    "emoji 🚀 rocket",
    "already-an-identifier",
    "x--y",
    "trailing!!!",
    "ABC123",
    "",
    "   ",
]
IDENTIFIERS = ["ok-id", "a1", "Bad", "a--b", "end-", "é", "has space", "under_score", "", "-start"]
DAYS = [90, 14, 1, 0.5, 1.5, 365]


def run_module(studio: Studio, module: str, script: str, argument: Any) -> Any:
    studio.open("#/databases")
    return studio.page.evaluate(
        f"async (argument) => {{ const m = await import('/studio/{module}'); return ({script})(m, argument); }}",
        argument)


GENERATE = "(m, names) => names.map((n) => [m.generateIdentifier(n), m.generateIdentifier(n, m.TASK_FALLBACK)])"
IS_VALID = "(m, values) => values.map((v) => m.identifierProblems(v).length === 0)"
ROUND_TRIP = "(m, days) => days.map((d) => [m.daysToTimeSpan(d), m.timeSpanToDays(m.daysToTimeSpan(d))])"


def test_identifier_generation_matches_the_server(studio: Studio) -> None:
    generated = run_module(studio, "identifier.js", GENERATE, NAMES)
    expected = [[generate_identifier(name), generate_identifier(name, TASK_FALLBACK_IDENTIFIER)] for name in NAMES]
    assert dict(zip(NAMES, generated, strict=True)) == dict(zip(NAMES, expected, strict=True))


def test_identifier_validation_matches_the_server(studio: Studio) -> None:
    valid = run_module(studio, "identifier.js", IS_VALID, IDENTIFIERS)
    expected = {value: not identifier_problems(value) for value in IDENTIFIERS}
    assert dict(zip(IDENTIFIERS, valid, strict=True)) == expected


def test_cache_expirations_are_written_as_the_server_reads_them(studio: Studio) -> None:
    written = run_module(studio, "timespan.js", ROUND_TRIP, DAYS)
    for days, (text, back) in zip(DAYS, written, strict=True):
        assert text == format_timespan(timedelta(days=days))
        assert parse_timespan(text) == timedelta(days=days)
        assert back == days
