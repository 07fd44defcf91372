"""Failures inside the engine (syntax, time, memory) and the mapping of every engine exception."""

from pathlib import Path

import pytest
from py_mini_racer import _dll, _exc

from rookdb.ai.scripting import EmbeddingsScript, FieldSource, _engine
from rookdb.errors import RookError, ScriptError
from tests.support.scripting import (
    DOCS_EXAMPLE,
    MEMORY_LIMIT_BYTES,
    PRODUCT,
    TIME_LIMIT_MS,
    UNREACHED_TIME_LIMIT_MS,
    error_of,
    only,
    run,
)

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
    with pytest.raises(ScriptError) as caught:
        run("while (true) {}")
    assert caught.value.message == f"Embeddings script exceeded its time limit of {TIME_LIMIT_MS} ms"
    # The engine's own limit fired (the host's watchdog, seconds later, would leave no cause).
    assert isinstance(caught.value.__cause__, _exc.JSTimeoutException)


def test_time_limit_also_guards_compilation() -> None:
    # Code outside the function body runs at install time; the limit applies there too.
    with pytest.raises(ScriptError, match=f"time limit of {TIME_LIMIT_MS} ms") as caught:
        run("}); while (true) {} (function () {")
    assert isinstance(caught.value.__cause__, _exc.JSTimeoutException)


def test_memory_blow_up_hits_the_memory_limit() -> None:
    script = "const a = []; for (;;) a.push('chunk of text ' + a.length);"
    message = error_of(script, memory_limit_bytes=32 * 1024 * 1024, time_limit_ms=UNREACHED_TIME_LIMIT_MS)
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
    compiled = EmbeddingsScript(good, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=32 * 1024 * 1024)
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
    assert set(_engine.ENGINE_ERRORS) == set(ENGINE_EXCEPTIONS)


@pytest.mark.parametrize("error", ENGINE_EXCEPTIONS.values(), ids=lambda e: type(e).__name__)
def test_engine_exception_translates_to_a_rook_error(error: BaseException) -> None:
    assert isinstance(error, _exc.MiniRacerBaseException)
    translated = _engine.translate(error, time_limit_ms=5, memory_limit_bytes=7, memory_exhausted=False)
    assert isinstance(translated, RookError)
    assert translated.message.startswith("Embeddings script ")
    user_fault = not isinstance(error, (_dll.LibNotFoundError, _dll.LibAlreadyInitializedError))
    assert isinstance(translated, ScriptError) == (
        user_fault and type(error) is not _exc.MiniRacerBaseException
    )


def test_engine_messages_keep_line_and_text() -> None:
    parse = _engine.translate(
        _exc.JSParseException("<anonymous>:2: SyntaxError: Unexpected token ';'\nvar broken = ;\n"),
        time_limit_ms=5,
        memory_limit_bytes=7,
        memory_exhausted=False,
    )
    assert (
        parse.message == "Embeddings script has a syntax error at line 2: SyntaxError: Unexpected token ';'"
    )
    timeout = _engine.translate(
        _exc.JSTimeoutException(), time_limit_ms=5, memory_limit_bytes=7, memory_exhausted=False
    )
    assert timeout.message == "Embeddings script exceeded its time limit of 5 ms"


def test_bare_eval_error_at_the_memory_limit_is_reported_as_memory() -> None:
    translated = _engine.translate(
        _exc.JSEvalException("null\n"), time_limit_ms=5, memory_limit_bytes=7, memory_exhausted=True
    )
    assert translated.message == "Embeddings script exceeded its memory limit of 7 bytes"
