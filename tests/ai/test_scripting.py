import asyncio
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from py_mini_racer import _dll, _exc

from rookdb.ai import scripting
from rookdb.ai.scripting import (
    CHUNKING_METHODS,
    ChunkingRequest,
    EmbeddingsScript,
    FieldSource,
    ScriptOutput,
    clear_script_cache,
    run_embeddings_script,
)
from rookdb.errors import RookError, ScriptError

TIME_LIMIT_MS = 1000
MEMORY_LIMIT_BYTES = 64 * 1024 * 1024

PRODUCT: dict[str, Any] = {
    "Name": "Chai",
    "Description": "Tea from China.\n\nServed hot.",
    "Tags": ["tea", None, "drink"],
    "Title": "Chai tea  ",
    "Notes": None,
    "PricePerUnit": 18,
    "Discontinued": False,
    "@metadata": {"@collection": "Products", "@id": "products/1-A"},
}

DOCS_EXAMPLE = (
    "embeddings.generate({ Name: text.split(this.Name, 2048), "
    "Description: text.splitParagraphs(this.Description, 2048, 128).withContextPrefix(this.Name), "
    "Tags: this.Tags, Title: this.Title.withContextPrefix('Title') }).withContextPrefix('Product');"
)


@pytest.fixture(autouse=True, scope="module")
def _free_engines() -> Iterator[None]:
    yield
    clear_script_cache()


def run(script: str, document: dict[str, Any] | None = None, **limits: int) -> ScriptOutput:
    return run_embeddings_script(
        script,
        PRODUCT if document is None else document,
        time_limit_ms=limits.get("time_limit_ms", TIME_LIMIT_MS),
        memory_limit_bytes=limits.get("memory_limit_bytes", MEMORY_LIMIT_BYTES),
    )


def only(output: ScriptOutput, name: str) -> FieldSource:
    (source,) = output.fields[name]
    return source


def error_of(script: str, document: dict[str, Any] | None = None, **limits: int) -> str:
    with pytest.raises(ScriptError) as caught:
        run(script, document, **limits)
    return caught.value.message


# --- helpers: each one is a marker with its method and token settings ---


@pytest.mark.parametrize(
    ("call", "method", "max_tokens", "overlap"),
    [
        ("text.split(this.Name, 100)", "PlainTextSplit", 100, 0),
        ("text.split(this.Name)", "PlainTextSplit", 512, 0),
        ("text.splitLines(this.Name, 64)", "PlainTextSplitLines", 64, 0),
        ("text.splitParagraphs(this.Name, 2048, 128)", "PlainTextSplitParagraphs", 2048, 128),
        ("text.splitParagraphs(this.Name, 300)", "PlainTextSplitParagraphs", 300, 0),
        ("text.splitParagraphs(this.Name)", "PlainTextSplitParagraphs", 512, 0),
        ("markdown.splitLines(this.Name, 10)", "MarkDownSplitLines", 10, 0),
        ("markdown.splitParagraphs(this.Name, 20, 5)", "MarkDownSplitParagraphs", 20, 5),
        ("html.strip(this.Name, 30)", "HtmlStrip", 30, 0),
        ("html.strip(this.Name)", "HtmlStrip", 512, 0),
    ],
)
def test_helper_describes_chunking(call: str, method: str, max_tokens: int, overlap: int) -> None:
    source = only(run(f"embeddings.generate({{ F: {call} }});"), "F")
    assert source == FieldSource(("Chai",), ChunkingRequest(method, max_tokens, overlap), None)  # type: ignore[arg-type]


def test_every_chunking_method_has_a_helper() -> None:
    script = (
        "embeddings.generate({ A: text.split('a'), B: text.splitLines('b'), C: text.splitParagraphs('c'), "
        "D: markdown.splitLines('d'), E: markdown.splitParagraphs('e'), F: html.strip('f') });"
    )
    methods = {s.chunking.method for sources in run(script).fields.values() for s in sources if s.chunking}
    assert methods == CHUNKING_METHODS


def test_helper_takes_an_array_and_skips_nulls() -> None:
    source = only(run("embeddings.generate({ T: text.split(['a', null, 'b', undefined], 50) });"), "T")
    assert source.texts == ("a", "b")


def test_helper_on_null_leaves_the_field_out() -> None:
    output = run("embeddings.generate({ N: text.split(this.Notes, 50), M: html.strip(this.Missing, 5) });")
    assert output == ScriptOutput(generated=True, fields={})


def test_helper_does_not_chunk_in_javascript() -> None:
    long_text = "word " * 5000
    source = only(run("embeddings.generate({ T: text.split(this.Body, 1) });", {"Body": long_text}), "T")
    assert source.texts == (long_text,)


# --- raw values ---


def test_raw_string_uses_default_chunking() -> None:
    assert only(run("embeddings.generate({ Name: this.Name });"), "Name") == FieldSource(
        ("Chai",), None, None
    )


def test_raw_array_skips_nulls() -> None:
    assert only(run("embeddings.generate({ Tags: this.Tags });"), "Tags").texts == ("tea", "drink")


def test_null_undefined_and_empty_fields_are_skipped() -> None:
    output = run(
        "embeddings.generate({ Notes: this.Notes, Missing: this.Missing, Empty: [], Name: this.Name });"
    )
    assert list(output.fields) == ["Name"]


def test_raw_text_keeps_its_whitespace() -> None:
    assert only(run("embeddings.generate({ Title: this.Title });"), "Title").texts == ("Chai tea  ",)


def test_array_mixing_helpers_and_strings_gives_one_source_each() -> None:
    script = (
        "embeddings.generate({ T: [html.strip('<b>x</b>'), 'a', 'b', markdown.splitLines('m', 20), 'c'] });"
    )
    sources = run(script).fields["T"]
    assert [(s.texts, s.chunking and s.chunking.method) for s in sources] == [
        (("<b>x</b>",), "HtmlStrip"),
        (("a", "b"), None),
        (("m",), "MarkDownSplitLines"),
        (("c",), None),
    ]


def test_field_order_follows_the_script_even_for_numeric_names() -> None:
    output = run("embeddings.generate({ b: 'x', 2: 'y', a: 'z', 1: 'w' });")
    # A JavaScript object would list "1" and "2" first; RavenDB's field order is the insertion order.
    assert list(output.fields) == ["1", "2", "b", "a"]


def test_document_metadata_is_visible() -> None:
    output = run("embeddings.generate({ C: this['@metadata']['@collection'] });")
    assert only(output, "C").texts == ("Products",)


@pytest.mark.parametrize(
    "script",
    [
        "embeddings.generate({ P: this.PricePerUnit });",
        "embeddings.generate({ P: this.Discontinued });",
        "embeddings.generate({ P: { a: 1 } });",
        "embeddings.generate({ P: [this.Name, 5] });",
        "embeddings.generate({ P: [['nested']] });",
    ],
)
def test_non_string_raw_values_are_errors(script: str) -> None:
    assert "must be a string" in error_of(script)


# --- context prefix ---


def test_canonical_script_resolves_every_level() -> None:
    output = run(DOCS_EXAMPLE)
    assert output == ScriptOutput(
        generated=True,
        fields={
            "Name": (FieldSource(("Chai",), ChunkingRequest("PlainTextSplit", 2048, 0), "Product"),),
            "Description": (
                FieldSource(
                    ("Tea from China.\n\nServed hot.",),
                    ChunkingRequest("PlainTextSplitParagraphs", 2048, 128),
                    "Chai",
                ),
            ),
            "Tags": (FieldSource(("tea", "drink"), None, "Product"),),
            "Title": (FieldSource(("Chai tea  ",), None, "Title"),),
        },
    )


def test_field_prefix_wins_over_generate_prefix() -> None:
    script = (
        "embeddings.generate({ A: text.split('a', 9).withContextPrefix('field') }).withContextPrefix('all');"
    )
    assert only(run(script), "A").context_prefix == "field"


def test_generate_prefix_applies_to_unprefixed_fields() -> None:
    script = "embeddings.generate({ A: text.split('a', 9), B: 'b', C: ['c'] }).withContextPrefix('all');"
    assert {name: only(run(script), name).context_prefix for name in "ABC"} == dict.fromkeys("ABC", "all")


def test_no_prefix_anywhere_is_none() -> None:
    assert only(run("embeddings.generate({ A: 'a' });"), "A").context_prefix is None


def test_prefix_on_a_raw_string() -> None:
    assert only(run("embeddings.generate({ A: this.Name.withContextPrefix('Product name') });"), "A") == (
        FieldSource(("Chai",), None, "Product name")
    )


def test_prefix_on_a_raw_array() -> None:
    source = only(
        run("embeddings.generate({ Tags: this.Tags.withContextPrefix('Tag') }).withContextPrefix('x');"),
        "Tags",
    )
    assert source == FieldSource(("tea", "drink"), None, "Tag")


def test_element_prefix_wins_over_array_prefix() -> None:
    script = (
        "embeddings.generate({ T: [text.split('a', 5).withContextPrefix('own'), text.split('b', 5), 'c']"
        ".withContextPrefix('array') }).withContextPrefix('all');"
    )
    assert [s.context_prefix for s in run(script).fields["T"]] == ["own", "array", "array"]


def test_prefix_can_be_a_document_field_expression() -> None:
    script = "embeddings.generate({ D: text.split(this.Description).withContextPrefix(this.Name + ' / x') });"
    assert only(run(script), "D").context_prefix == "Chai / x"


def test_prefix_trailing_whitespace_is_trimmed() -> None:
    assert only(
        run("embeddings.generate({ T: this.Name.withContextPrefix(this.Title) });"), "T"
    ).context_prefix == ("Chai tea")


def test_last_prefix_call_wins() -> None:
    script = (
        "embeddings.generate({ T: this.Name.withContextPrefix('a').withContextPrefix('b'), U: 'u' })"
        ".withContextPrefix('c').withContextPrefix('d');"
    )
    output = run(script)
    assert (only(output, "T").context_prefix, only(output, "U").context_prefix) == ("b", "d")


def test_with_context_prefix_returns_a_copy() -> None:
    script = "const s = text.split(this.Name, 9); embeddings.generate({ A: s, B: s.withContextPrefix('b') });"
    output = run(script)
    assert (only(output, "A").context_prefix, only(output, "B").context_prefix) == (None, "b")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("text.split('a', 5).withContextPrefix('')", "must not be empty"),
        ("this.Name.withContextPrefix('   ')", "must not be empty"),
        ("this.Tags.withContextPrefix(this.Notes)", "must be a string, got null"),
        ("this.Name.withContextPrefix(5)", "must be a string, got number 5"),
    ],
)
def test_bad_prefixes_are_errors(call: str, expected: str) -> None:
    message = error_of(f"embeddings.generate({{ A: {call} }});")
    assert "withContextPrefix(prefix)" in message
    assert expected in message


def test_empty_generate_prefix_is_an_error() -> None:
    assert "must not be empty" in error_of("embeddings.generate({ A: 'a' }).withContextPrefix('');")


# --- how often generate is called ---


def test_no_generate_call_means_nothing_to_embed() -> None:
    assert run("if (this.Discontinued === false) return; embeddings.generate({ A: 'a' });") == ScriptOutput(
        generated=False, fields={}
    )


def test_generate_with_only_null_fields_still_counts_as_called() -> None:
    assert run("embeddings.generate({ N: this.Notes });") == ScriptOutput(generated=True, fields={})


def test_repeated_generate_calls_merge_like_ravendb() -> None:
    script = (
        "embeddings.generate({ Raw: 'one', Chunked: text.split('first', 10), Keep: 'kept' });"
        "embeddings.generate({ Raw: ['two'], Chunked: text.split('second', 20), New: 'new' })"
        ".withContextPrefix('p');"
    )
    output = run(script)
    # Raw values are added to the field, a chunking result replaces it; each call keeps its own prefix.
    assert output.fields["Raw"] == (FieldSource(("one",), None, None), FieldSource(("two",), None, "p"))
    assert output.fields["Chunked"] == (
        FieldSource(("second",), ChunkingRequest("PlainTextSplit", 20, 0), "p"),
    )
    assert list(output.fields) == ["Raw", "Chunked", "Keep", "New"]


def test_generate_in_a_loop() -> None:
    script = "for (const tag of this.Tags) { if (tag) embeddings.generate({ Tags: tag }); }"
    assert [s.texts for s in run(script).fields["Tags"]] == [("tea",), ("drink",)]


# --- argument validation ---


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("text.split(this.Name, 'abc')", 'maxTokens must be a number, got string "abc"'),
        ("text.split(this.Name, null)", "maxTokens must be a number, got null"),
        ("text.split(this.Name, NaN)", "maxTokens must be a number"),
        ("text.split(this.Name, 0)", "maxTokens must be at least 1, got 0"),
        ("text.split(this.Name, 10.5)", "maxTokens must be a whole number, got 10.5"),
        ("text.splitParagraphs(this.Name, 100, -1)", "overlapTokens must not be negative, got -1"),
        ("markdown.splitParagraphs(this.Name, 100, '5')", "overlapTokens must be a number"),
        (
            "text.splitParagraphs(this.Name, 100, 100)",
            "overlapTokens (100) must be less than maxTokens (100)",
        ),
        ("text.split(this.Name, 10, 2)", "takes 1 to 2 arguments, got 3"),
        ("html.strip()", "takes 1 to 2 arguments, got 0"),
        ("text.split(5, 10)", "the first argument must be a string or an array of strings, got number 5"),
        ("text.splitLines([this.Name, 1], 10)", "element 1 of the array must be a string, got number 1"),
    ],
)
def test_bad_helper_arguments_are_errors(call: str, expected: str) -> None:
    assert expected in error_of(f"embeddings.generate({{ A: {call} }});")


@pytest.mark.parametrize(
    ("call", "expected"),
    [
        ("embeddings.generate()", "takes exactly 1 argument, got 0"),
        ("embeddings.generate('text')", 'must be an object whose keys are field names, got string "text"'),
        ("embeddings.generate(null)", "got null"),
        ("embeddings.generate(['a'])", "got an array"),
        ("embeddings.generate(text.split('a'))", "got an object"),
    ],
)
def test_generate_needs_one_object(call: str, expected: str) -> None:
    message = error_of(call + ";")
    assert "embeddings.generate(object)" in message
    assert expected in message


def test_validation_error_names_the_line_of_the_call() -> None:
    message = error_of("var name = this.Name;\n\nembeddings.generate({\n  A: text.split(name, -3) });")
    assert message.startswith("Embeddings script failed at line 4, column ")


# --- failures ---


def test_syntax_error_names_the_line() -> None:
    message = error_of("var ok = 1;\nvar broken = ;\nembeddings.generate({ A: 'a' });")
    assert message == "Embeddings script has a syntax error at line 2: SyntaxError: Unexpected token ';'"


def test_syntax_error_is_chained_to_the_engine_error() -> None:
    with pytest.raises(ScriptError) as caught:
        EmbeddingsScript(
            "embeddings.generate({", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
        )
    assert isinstance(caught.value.__cause__, _exc.JSParseException)


def test_script_cannot_close_its_wrapper() -> None:
    message = error_of("}); (function () {")
    assert message == "Embeddings script has a syntax error: an unbalanced '}' ends the script early"


def test_thrown_error_gives_message_line_and_column() -> None:
    assert error_of("var x = 1;\n  throw new Error('no ' + this.Name);") == (
        "Embeddings script failed at line 2, column 9: Error: no Chai"
    )


def test_column_on_the_first_line_is_the_scripts_own() -> None:
    expected = "TypeError: Cannot read properties of null (reading 'x')"
    assert error_of("null.x") == f"Embeddings script failed at line 1, column 6: {expected}"


def test_thrown_non_error_value() -> None:
    assert error_of("throw 'plain';") == 'Embeddings script failed: Uncaught: string "plain"'


def test_empty_script_is_an_error() -> None:
    assert "empty" in error_of("  \n ")


def test_infinite_loop_hits_the_time_limit() -> None:
    started = time.monotonic()
    with pytest.raises(ScriptError) as caught:
        run("while (true) {}", time_limit_ms=200)
    assert time.monotonic() - started < 1.0
    assert caught.value.message == "Embeddings script exceeded its time limit of 200 ms"
    assert isinstance(caught.value.__cause__, _exc.JSTimeoutException)


def test_time_limit_also_guards_compilation() -> None:
    # Code outside the function body runs at install time; the limit applies there too.
    started = time.monotonic()
    with pytest.raises(ScriptError, match="time limit"):
        run("}); while (true) {} (function () {", time_limit_ms=200)
    assert time.monotonic() - started < 1.0


def test_memory_blow_up_hits_the_memory_limit() -> None:
    script = "const a = []; for (;;) a.push('chunk of text ' + a.length);"
    message = error_of(script, memory_limit_bytes=32 * 1024 * 1024)
    assert message == f"Embeddings script exceeded its memory limit of {32 * 1024 * 1024} bytes"


def test_memory_kept_across_documents_hits_the_limit_then_recovers() -> None:
    leaky = (
        "globalThis.kept = (globalThis.kept || []).concat(new Array(200000).fill(this.Name));"
        "embeddings.generate({ A: 'a' });"
    )
    compiled = EmbeddingsScript(leaky, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=16 * 1024 * 1024)
    with compiled:
        with pytest.raises(ScriptError, match="memory limit"):
            for _ in range(50):
                compiled.run(PRODUCT)
        # A fresh engine starts with an empty heap, so the next document succeeds again.
        assert compiled.run(PRODUCT).generated


def test_small_memory_limit_setting_still_runs() -> None:
    # Ai.Embeddings.ScriptMemoryLimitInMb has a minimum of 8.
    assert run(DOCS_EXAMPLE, memory_limit_bytes=8 * 1024 * 1024).generated


@pytest.mark.parametrize(
    "failing",
    [
        "while (true) {}",
        "const a = []; for (;;) a.push('x' + a.length);",
        "throw new Error('boom');",
        "embeddings.generate({ A: text.split('a', -1) });",
    ],
)
def test_engine_is_usable_after_a_failure(failing: str) -> None:
    good = "if (this.Fail) { " + failing + " } embeddings.generate({ A: this.Name });"
    compiled = EmbeddingsScript(good, time_limit_ms=200, memory_limit_bytes=32 * 1024 * 1024)
    with compiled:
        with pytest.raises(ScriptError):
            compiled.run({**PRODUCT, "Fail": True})
        assert only(compiled.run(PRODUCT), "A").texts == ("Chai",)


def test_state_of_a_failed_run_does_not_leak_into_the_next() -> None:
    script = "embeddings.generate({ A: this.Name }); if (this.Fail) throw new Error('late');"
    with EmbeddingsScript(
        script, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    ) as compiled:
        with pytest.raises(ScriptError):
            compiled.run({"Name": "x", "Fail": True})
        assert compiled.run({"Name": "y"}).fields == {"A": (FieldSource(("y",), None, None),)}


def test_timers_are_not_available() -> None:
    # A timer firing during a later run would add fields to another document.
    message = error_of("setTimeout(() => embeddings.generate({ A: 'late' }), 0);")
    assert message.endswith("TypeError: setTimeout is not available in embeddings scripts")


def test_script_cannot_replace_the_api() -> None:
    script = (
        "text = null; embeddings = null; JSON.stringify = () => 'garbage'; embeddings.generate({ A: 'a' });"
    )
    assert only(run(script), "A").texts == ("a",)


def test_document_that_is_not_json() -> None:
    with pytest.raises(ScriptError, match="not JSON"):
        run("embeddings.generate({ A: 'a' });", {"When": object()})


def test_limits_must_be_positive() -> None:
    with pytest.raises(ValueError, match="time_limit_ms"):
        EmbeddingsScript("embeddings.generate({});", time_limit_ms=0, memory_limit_bytes=MEMORY_LIMIT_BYTES)
    with pytest.raises(ValueError, match="memory_limit_bytes"):
        EmbeddingsScript("embeddings.generate({});", time_limit_ms=1, memory_limit_bytes=-1)


# --- mapping of engine exceptions ---


def _all_subclasses(base: type[BaseException]) -> set[type[BaseException]]:
    found = {base}
    for sub in base.__subclasses__():
        found |= _all_subclasses(sub)
    return found


ENGINE_EXCEPTIONS: dict[type[BaseException], BaseException] = {
    _exc.MiniRacerBaseException: _exc.MiniRacerBaseException("x"),
    _exc.JSEvalException: _exc.JSEvalException("embeddings-script.js:3: Error: boom\nthrow x"),
    _exc.JSTimeoutException: _exc.JSTimeoutException(),
    _exc.JSPromiseError: _exc.JSPromiseError("reason"),
    _exc.JSArrayIndexError: _exc.JSArrayIndexError(),
    _exc.JSParseException: _exc.JSParseException("<anonymous>:2: SyntaxError: Unexpected token ';'\n"),
    _exc.JSKeyError: _exc.JSKeyError("k"),
    _exc.JSOOMException: _exc.JSOOMException("JavaScript memory limit reached"),
    _exc.JSTerminatedException: _exc.JSTerminatedException("terminated"),
    _exc.JSValueError: _exc.JSValueError("v"),
    _exc.JSConversionException: _exc.JSConversionException(),
    _exc.WrongReturnTypeException: _exc.WrongReturnTypeException(int),
    _dll.LibNotFoundError: _dll.LibNotFoundError(Path("/nowhere")),
    _dll.LibAlreadyInitializedError: _dll.LibAlreadyInitializedError(),
}


def test_every_engine_exception_is_mapped() -> None:
    assert _all_subclasses(_exc.MiniRacerBaseException) == set(ENGINE_EXCEPTIONS)
    assert set(scripting._ENGINE_ERRORS) == set(ENGINE_EXCEPTIONS)


@pytest.mark.parametrize("error", ENGINE_EXCEPTIONS.values(), ids=lambda e: type(e).__name__)
def test_engine_exception_translates_to_a_rook_error(error: BaseException) -> None:
    assert isinstance(error, _exc.MiniRacerBaseException)
    translated = scripting._translate(error, time_limit_ms=5, memory_limit_bytes=7, memory_exhausted=False)
    assert isinstance(translated, RookError)
    assert translated.message.startswith("Embeddings script ")
    user_fault = not isinstance(error, (_dll.LibNotFoundError, _dll.LibAlreadyInitializedError))
    assert isinstance(translated, ScriptError) == (
        user_fault and type(error) is not _exc.MiniRacerBaseException
    )


def test_engine_messages_keep_line_and_text() -> None:
    parse = scripting._translate(
        _exc.JSParseException("<anonymous>:2: SyntaxError: Unexpected token ';'\nvar broken = ;\n"),
        time_limit_ms=5,
        memory_limit_bytes=7,
        memory_exhausted=False,
    )
    assert (
        parse.message == "Embeddings script has a syntax error at line 2: SyntaxError: Unexpected token ';'"
    )
    timeout = scripting._translate(
        _exc.JSTimeoutException(), time_limit_ms=5, memory_limit_bytes=7, memory_exhausted=False
    )
    assert timeout.message == "Embeddings script exceeded its time limit of 5 ms"


def test_bare_eval_error_at_the_memory_limit_is_reported_as_memory() -> None:
    translated = scripting._translate(
        _exc.JSEvalException("null\n"), time_limit_ms=5, memory_limit_bytes=7, memory_exhausted=True
    )
    assert translated.message == "Embeddings script exceeded its memory limit of 7 bytes"


# --- reuse, threads, event loops ---


def test_compiled_script_is_reused() -> None:
    script = (
        "globalThis.runs = (globalThis.runs || 0) + 1; embeddings.generate({ N: String(globalThis.runs) });"
    )
    counts = [only(run(script), "N").texts[0] for _ in range(3)]
    assert counts == ["1", "2", "3"]


def test_cache_keeps_a_bounded_number_of_scripts() -> None:
    clear_script_cache()
    for i in range(scripting._MAX_CACHED_SCRIPTS + 3):
        run(f"embeddings.generate({{ N: '{i}' }});")
    assert len(scripting._cache) == scripting._MAX_CACHED_SCRIPTS
    clear_script_cache()
    assert len(scripting._cache) == 0


def test_closed_script_rebuilds_on_next_run() -> None:
    compiled = EmbeddingsScript(
        "embeddings.generate({ A: this.Name });",
        time_limit_ms=TIME_LIMIT_MS,
        memory_limit_bytes=MEMORY_LIMIT_BYTES,
    )
    compiled.close()
    assert only(compiled.run(PRODUCT), "A").texts == ("Chai",)
    compiled.close()


def test_one_script_shared_by_threads() -> None:
    compiled = EmbeddingsScript(
        DOCS_EXAMPLE, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    )
    results: dict[int, list[str]] = {}

    def work(worker: int) -> None:
        names = [f"product {worker}-{i}" for i in range(50)]
        results[worker] = [only(compiled.run({**PRODUCT, "Name": n}), "Name").texts[0] for n in names]

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    compiled.close()
    assert results == {w: [f"product {w}-{i}" for i in range(50)] for w in range(4)}


def test_works_when_called_from_an_event_loop() -> None:
    async def inside_loop() -> ScriptOutput:
        with EmbeddingsScript(
            "while (this.Spin) {} embeddings.generate({ A: this.Name });",
            time_limit_ms=200,
            memory_limit_bytes=MEMORY_LIMIT_BYTES,
        ) as compiled:
            with pytest.raises(ScriptError, match="time limit"):
                compiled.run({"Spin": True})
            return compiled.run(PRODUCT)

    assert only(asyncio.run(inside_loop()), "A").texts == ("Chai",)


def test_runs_over_many_northwind_like_documents() -> None:
    documents = [{**PRODUCT, "Name": f"Product {i}", "Tags": [f"t{i}"]} for i in range(500)]
    outputs = [run(DOCS_EXAMPLE, d) for d in documents]
    assert [only(o, "Name").texts[0] for o in outputs] == [d["Name"] for d in documents]
