"""The patch engine: RavenDB's patch API in V8 host processes, batches, loads, limits and errors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from rookdb.documents.patching.engine import PatchEngine, PatchRun

DOCUMENTS = {
    "suppliers/1": {"Name": "Exotic", "@metadata": {"@id": "suppliers/1"}},
    "categories/1": {"Name": "Drinks", "@metadata": {"@id": "categories/1"}},
}


def resolve(ids: Sequence[str], keys: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    values = {"emails/ann": "users/1"}
    return ({doc_id.lower(): DOCUMENTS.get(doc_id.lower()) for doc_id in ids},
            {key.lower(): values.get(key.lower()) for key in keys})


def run_one(engine: PatchEngine, script: str, document: dict[str, Any], args: dict[str, Any] | None = None) -> Any:
    (outcome,) = engine.run(script, args or {}, [PatchRun(document)], resolve)
    return outcome


def test_this_args_and_dollar_parameters(engine: PatchEngine) -> None:
    outcome = run_one(engine, "this.Name = args.name + $suffix; this.Count++; delete this.Gone;",
                      {"Name": "a", "Count": 1, "Gone": True}, {"name": "b", "suffix": "!"})
    assert outcome.error is None and outcome.document == {"Name": "b!", "Count": 2}


def test_load_fetches_documents_and_runs_again(engine: PatchEngine) -> None:
    script = ("var s = load(this.Supplier); var c = load(this.Category);"
              " this.Label = s.Name + '/' + c.Name; this.Missing = load('nothing/1');")
    outcome = run_one(engine, script, {"Supplier": "suppliers/1", "Category": "Categories/1"})
    assert outcome.error is None
    assert outcome.document["Label"] == "Exotic/Drinks" and outcome.document["Missing"] is None
    many = run_one(engine, "this.Names = load(this.Ids).map(function (d) { return d.Name; });",
                   {"Ids": ["suppliers/1", "categories/1"]})
    assert many.document["Names"] == ["Exotic", "Drinks"]


def test_put_del_id_metadata_cmpxchg_and_output(engine: PatchEngine) -> None:
    script = """
        put('copies/1', { Of: id(this), '@metadata': { '@collection': 'Copies' } });
        del('old/1');
        getMetadata(this)['Checked'] = true;
        this.Owner = cmpxchg('emails/ann');
        output('patched', id(this), { n: 1 });
    """
    outcome = run_one(engine, script, {"@metadata": {"@id": "users/1", "@collection": "Users"}})
    assert outcome.error is None
    assert outcome.writes == [
        {"Type": "PUT", "Id": "copies/1", "Document": {"Of": "users/1", "@metadata": {"@collection": "Copies"}},
         "ChangeVector": None},
        {"Type": "DELETE", "Id": "old/1", "ChangeVector": None}]
    assert outcome.document["@metadata"]["Checked"] is True and outcome.document["Owner"] == "users/1"
    assert outcome.output == ['patched users/1 {"n":1}']


def test_a_batch_answers_each_document(engine: PatchEngine) -> None:
    runs = [PatchRun({"N": number}) for number in range(300)]
    outcomes = engine.run("if (this.N === 7) throw new Error('seven'); this.N *= 2;", {}, runs, resolve)
    assert [outcome.document["N"] for outcome in outcomes if outcome.document is not None][:3] == [0, 2, 4]
    assert outcomes[7].error is not None and "seven" in outcomes[7].error.message
    assert sum(outcome.error is not None for outcome in outcomes) == 1


@pytest.mark.parametrize(("script", "message"), [
    ("this.a = 1;\nthis.b = ;", "syntax error at line 2"),
    ("\n\n  throw new Error('boom');", "failed at line 3, column 9: Error: boom"),
    ("this.x.y.z = 1;", "failed at line 1, column 8: TypeError"),
    ("   ", "empty"),
    ("put(5, {})", "the id must be a string"),
])
def test_errors_name_the_line(engine: PatchEngine, script: str, message: str) -> None:
    if not script.strip():
        with pytest.raises(Exception, match=message):
            run_one(engine, script, {})
        return
    outcome = run_one(engine, script, {})
    assert outcome.error is not None and message in outcome.error.message
    assert outcome.error.wire_type.endswith("JavaScriptException")


def test_a_runaway_script_fails_alone_and_the_engine_recovers(engine: PatchEngine) -> None:
    runs = [PatchRun({"Loop": number == 1}) for number in range(3)]
    outcomes = engine.run("if (this.Loop) { while (true) {} } this.Done = true;", {}, runs, resolve)
    assert outcomes[1].error is not None and "time limit of 2000 ms" in outcomes[1].error.message
    assert outcomes[0].document == {"Loop": False, "Done": True}
    assert outcomes[2].document == {"Loop": False, "Done": True}
    assert run_one(engine, "this.After = 1;", {}).document == {"After": 1}


def test_a_memory_bomb_fails_and_the_engine_recovers() -> None:
    # A time limit far above what filling 64 MB takes, so that a loaded machine cannot make the
    # script run out of time before it runs out of memory.
    engine = PatchEngine(time_limit_ms=60_000, memory_limit_bytes=64 * 1024 * 1024, hosts=1, cached_scripts=4)
    try:
        outcome = run_one(engine, "var a = []; while (true) { a.push(new Array(1e6).fill(1)); }", {})
        assert outcome.error is not None and "memory" in outcome.error.message
        assert run_one(engine, "this.After = 1;", {}).document == {"After": 1}
    finally:
        engine.close()


def test_compiled_scripts_are_evicted_past_the_cache_size(engine: PatchEngine) -> None:
    for number in range(10):
        assert run_one(engine, f"this.V = {number};", {}).document == {"V": number}
    assert run_one(engine, "this.V = 0;", {}).document == {"V": 0}
