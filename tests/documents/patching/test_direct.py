"""Scripts that run without the JavaScript host: the same inputs through both paths give the same bytes."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from rookdb.documents.database import Database
from rookdb.documents.operations import Operation
from rookdb.documents.patching.by_query import patch_by_query
from rookdb.documents.patching.direct import direct_script, js_round_trip
from rookdb.documents.patching.engine import PatchEngine, PatchRun
from rookdb.documents.patching.patcher import Patcher
from rookdb.errors import ScriptError
from rookdb.storage.javascript_shape import js_shaped

DOCUMENT = {"Name": "Chai", "Price": 18.0, "Stock": 39, "Ratio": 0.25, "Big": 2 ** 60, "Tags": ["a", 1.0],
            "Address": {"City": "Lyon", "Zip": "69001", "Geo": {"Lat": 45.0}}, "Note": None, "Flag": True,
            "Label": "5", "Map": {"b": 1, "10": 2, "2": 3}, "@metadata": {"@collection": "Products", "@id": "p/1"}}
ARGS = {"name": "Tea", "price": 20.5, "whole": 20.0, "list": [1, 2.0, {"x": None}], "obj": {"k": "v", "7": 1},
        "n": 3, "big": 2 ** 62, "text": "x"}

# (script, runs without the host for DOCUMENT)
SCRIPTS = [
    ("this.Name = 'Tea';", True),
    ('this.Name = "T\\u00e9a\\n\\t\\x41\\\'q\\\\";', True),
    ("this.Discontinued = true; this.Note = false; this.Other = null", True),
    ("this.Price = 19.5;\nthis.Stock = 40\nthis.Ratio = -0.5", True),
    ("this.Count = 1e3; this.Small = .5; this.Neg = -0; this.Huge = 1e21; this.Exp = 2.5e-7;", True),
    ("this.Address.City = $name; this.Address.Geo.Lat = args.price;", True),
    ("this['Address']['Zip'] = args['whole']; this['with space'] = 1;", True),
    ("this.List = $list; this.Obj = $obj; this.Big2 = $big;", True),
    ("this.Arr = [1, 'two', [3.0], {a: 1, 'b c': null,}, ]; this.Empty = {};", True),
    ("this.Made = {}; this.Made.Inner = 1; this.Made.Deep = {x: {}}; this.Made.Deep.x.y = 2;", True),
    ("delete this.Note; delete this.Missing; delete this.Address.Zip;", True),
    ("delete this.Name; this.Name = 'again';", True),
    ("this.Stock += 1; this.Price -= 0.5; this.Ratio += 0.1; this.Big += 1;", True),
    ("this.Stock += $n; this.Stock += args.price;", True),
    ("this.Stock -= 1e308; this.Stock -= 1e308;", True),
    ("this['10'] = 'ten'; this['2'] = 'two'; this['01'] = 'zero-one';", True),
    ("this.Map.b = 5; this.Map['1'] = 0;", True),
    ("var p = this; p.Name = 'aliased'; this.Stock = 1;", True),
    ("/* a comment */ this.Name = 'x'; // another\n", True),
    # The host runs these: the document would make JavaScript throw or do more than a plain write.
    ("this.Missing.Field = 1;", False),
    ("this.Note.Field = 1;", False),
    ("this.Name.Length = 1;", False),
    ("this.Name += 1;", False),
    ("this.Label += 1;", False),
    ("this.Flag += 1;", False),
    ("this.Missing += 1;", False),
    ("this.Tags.Length = 1;", False),
    ("delete this.Missing.Field;", False),
    ("this.Name = 'first'; this.Missing.Field = 1;", False),
    ("delete this.Stock; this.Address.Missing.X = 1;", False),
]

# Outside the subset: these never run without the host.
UNSUPPORTED = [
    "this.Name = this.Other;", "this.Count++;", "this.A = 1 + 2;", "this.A = `t`;", "this.A = 0x10;",
    "this.A = 010;", "this.A = 1_000;", "this.A = undefined;", "this.A = NaN;", "this.A = $missing;",
    "this.A = args.missing;", "this.A = args;", "this.__proto__ = {};", "this.A = {__proto__: 1};",
    "this.A = {a: 1, a: 2};", "this.A = '\\uD83D';", "this.A = '\\u{1F600}';", "this.A = '\\1';",
    "this.A = 1 this.B = 2;", "this.A = 1\n-1;", "this.A = 1\n(2);", "this.A = [1,,2];", "this.Name = 'x';;",
    "'use strict'; this.A = 1;", "if (this.A) this.B = 1;", "this.A = 1 /* x */ this.B = 2",
    "var args = this; args.A = 1;", "var $name = this; $name.A = 1;", "put('x/1', {});", "this.A = $text.length;",
    "this.A += 'x';", "this.A += $text;", "this.A = $obj; this.A.k = 2;", "this.A.B = 1; this.C = $list;", "",
    "// nothing", "this.Name = 'caf\u00e9'; this.Nom\u00e9 = 1;", "this.A = 1.5.toString();",
]


def through_host(engine: PatchEngine, script: str, document: dict[str, Any]) -> Any:
    (outcome,) = engine.run(script, ARGS, [PatchRun(document)],
                            lambda ids, keys: ({}, {}))
    return outcome


@pytest.mark.parametrize(("script", "direct"), SCRIPTS)
def test_both_paths_give_the_same_bytes(engine: PatchEngine, script: str, direct: bool) -> None:
    compiled = direct_script(script, ARGS)
    assert compiled is not None
    document = orjson.loads(orjson.dumps(DOCUMENT))
    ran = compiled.apply(document)
    hosted = through_host(engine, script, orjson.loads(orjson.dumps(DOCUMENT)))
    assert ran is direct
    if direct:
        assert hosted.error is None and not hosted.writes
        assert orjson.dumps(document) == orjson.dumps(hosted.document)
    else:  # left untouched, byte for byte, for the host
        assert orjson.dumps(document) == orjson.dumps(DOCUMENT)


@pytest.mark.parametrize("script", UNSUPPORTED)
def test_scripts_outside_the_subset_go_to_the_host(script: str) -> None:
    assert direct_script(script, ARGS) is None


@pytest.mark.parametrize("value", [
    {"a": 1.0, "b": -0.0, "c": 1e16, "d": 2 ** 53 + 1, "e": -(2 ** 63), "f": 2 ** 64 - 1, "g": 1e20, "h": 0.1},
    {"z": 1, "3": 2, "1": [{"20": 0, "x": 1, "4294967295": 2, "4294967294": 3, "007": 4}]},
    {"s": "1.0, 1e5 and \"12\": in text", "n": None, "t": True, "l": []},
])
def test_js_round_trip_matches_the_engine(engine: PatchEngine, value: dict[str, Any]) -> None:
    hosted = through_host(engine, "this.Touched = true;\ndelete this.Touched;", orjson.loads(orjson.dumps(value)))
    expected = orjson.dumps(hosted.document)
    assert orjson.dumps(js_round_trip(orjson.loads(orjson.dumps(value)))) == expected
    if js_shaped(orjson.dumps(value)):
        assert orjson.dumps(value) == expected


@pytest.mark.parametrize(("body", "shaped"), [
    (b'{"a":1,"b":"x","c":1.5,"d":[1,2]}', True), (b'{"a":1.0}', False), (b'{"a":[2.0]}', False),
    (b'{"a":{"b":3.0}}', False), (b'{"a":1e16}', False), (b'{"a":1234567890123456}', False),
    (b'{"12":1}', False), (b'{"a":1.05}', True), (b'{"a":"1.0"}', True), (b'{"a":123456789012345}', True),
])
def test_js_shaped_spots_what_javascript_would_change(body: bytes, shaped: bool) -> None:
    assert js_shaped(body) is shaped


def test_patch_by_query_mixes_both_paths_in_one_batch(database: Database, engine: PatchEngine) -> None:
    for number, stock in enumerate([1, "7", 2.0, None]):
        database.put(f"products/{number}", {"Stock": stock, "@metadata": {"@collection": "Products"}})
    query = "from Products as p update { p.Stock += 1 }"
    work = patch_by_query(Patcher(database, engine), {"Query": {"Query": query}},
                          lambda query, parameters: [f"products/{number}" for number in range(4)])
    assert work(Operation(1, "db", "UpdateByQuery", {}))["Total"] == 4
    stocks = [orjson.loads(found.body)["Stock"] for found in database.get_many([f"products/{n}" for n in range(4)])
              if found is not None]
    assert stocks == [2, "71", 3, 1]  # "7" + 1 and null + 1 as JavaScript adds them


def test_a_script_error_of_a_deferred_document_fails_the_batch(database: Database, engine: PatchEngine) -> None:
    database.put("products/1", {"Address": {"City": "Lyon"}, "@metadata": {"@collection": "Products"}})
    database.put("products/2", {"@metadata": {"@collection": "Products"}})
    before = database.storage.last_etag()
    query = "from Products update {\n this.Address.City = 'x' }"
    work = patch_by_query(Patcher(database, engine), {"Query": {"Query": query}},
                          lambda query, parameters: ["products/1", "products/2"])
    with pytest.raises(ScriptError, match=r"line 2.*Cannot set properties of undefined"):
        work(Operation(1, "db", "UpdateByQuery", {}))
    assert database.storage.last_etag() == before
