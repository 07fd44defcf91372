"""JSON Patch (RFC 6902) operations on documents."""

from __future__ import annotations

from typing import Any

import pytest

from rookdb.documents.patching.json_patch import apply_json_patch, parse_pointer
from rookdb.errors import BadRequestError

DOCUMENT = {"Name": "Ann", "Address": {"City": "Oslo"}, "Tags": ["a", "b"], "a/b": 1, "m~n": 2}


@pytest.mark.parametrize(("pointer", "segments"), [
    ("", []), ("/Name", ["Name"]), ("/a~1b", ["a/b"]), ("/m~0n", ["m~n"]), ("/Tags/0", ["Tags", "0"]),
])
def test_pointers(pointer: str, segments: list[str]) -> None:
    assert parse_pointer(pointer) == segments


@pytest.mark.parametrize(("operations", "expected"), [
    ([{"op": "add", "path": "/Age", "value": 30}], {"Age": 30}),
    ([{"op": "add", "path": "/Tags/-", "value": "c"}], {"Tags": ["a", "b", "c"]}),
    ([{"op": "add", "path": "/Tags/0", "value": "z"}], {"Tags": ["z", "a", "b"]}),
    ([{"op": "remove", "path": "/Tags/1"}], {"Tags": ["a"]}),
    ([{"op": "replace", "path": "/Address/City", "value": "Bergen"}], {"Address": {"City": "Bergen"}}),
    ([{"op": "move", "from": "/Name", "path": "/First"}], {"First": "Ann", "Name": None}),
    ([{"op": "copy", "from": "/Address", "path": "/Home"}], {"Home": {"City": "Oslo"}}),
    ([{"op": "test", "path": "/a~1b", "value": 1}, {"op": "remove", "path": "/m~0n"}], {"m~n": None}),
])
def test_operations(operations: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    patched = apply_json_patch(DOCUMENT, operations)
    for key, value in expected.items():
        if value is None:
            assert key not in patched
        else:
            assert patched[key] == value
    assert DOCUMENT["Tags"] == ["a", "b"]  # the original is untouched


@pytest.mark.parametrize(("operations", "message"), [
    ([{"op": "replace", "path": "/Nope", "value": 1}], "does not exist"),
    ([{"op": "test", "path": "/Name", "value": "Bob"}], "test failed"),
    ([{"op": "remove", "path": "/Tags/5"}], "out of range"),
    ([{"op": "add", "path": "Name", "value": 1}], "not a JSON pointer"),
    ([{"op": "shout", "path": "/Name"}], "'op' is one of"),
    ([{"op": "add", "path": "/X"}], "has no 'value'"),
    ([{"op": "move", "from": "/Address", "path": "/Address/Inner"}], "into itself"),
])
def test_failures_fail_the_whole_patch(operations: list[dict[str, Any]], message: str) -> None:
    with pytest.raises(BadRequestError, match=message):
        apply_json_patch(DOCUMENT, [{"op": "add", "path": "/Before", "value": 1}, *operations])
