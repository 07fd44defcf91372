"""The bulk insert stream splitter: boundaries inside strings, tiny chunks, gzip, bad input."""

from __future__ import annotations

import gzip
import json

import pytest

from rookdb.errors import BadRequestError
from rookdb.server.endpoints.batch import _CommandStream

COMMANDS = [
    {"Id": "a/1", "Type": "PUT", "Document": {"Text": 'tricky },{"Id": inside a string'}},
    {"Id": "a/2", "Type": "PUT", "Document": {"Text": "plain"}},
    {"Id": "a/3", "Type": "PUT", "Document": {"Nested": {"List": [1, 2, {"x": "}"}]}}},
]


def split(raw: bytes, chunk_size: int, compressed: bool = False) -> list[object]:
    stream = _CommandStream(compressed)
    parsed: list[object] = []
    for offset in range(0, len(raw), chunk_size):
        parsed += stream.feed(raw[offset:offset + chunk_size])
    return parsed + stream.finish()


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 100_000])
def test_every_chunking_yields_the_same_commands(chunk_size: int) -> None:
    raw = json.dumps(COMMANDS, separators=(",", ":")).encode()
    assert split(raw, chunk_size) == COMMANDS


def test_gzip_stream() -> None:
    raw = gzip.compress(json.dumps(COMMANDS, separators=(",", ":")).encode())
    assert split(raw, 5, compressed=True) == COMMANDS


def test_empty_stream_is_no_commands() -> None:
    assert split(b"", 10) == []
    assert split(b"[]", 10) == []


@pytest.mark.parametrize("raw", [b"{}", b'[{"Id":"a"', b"[1,", b"not json"])
def test_malformed_stream_is_a_bad_request(raw: bytes) -> None:
    with pytest.raises(BadRequestError):
        split(raw, 3)
