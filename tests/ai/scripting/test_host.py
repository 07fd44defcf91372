"""The script host process: crashes, hangs and closing stay out of the server process."""

import logging
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from rookdb.ai.scripting import EmbeddingsScript, ScriptOutput
from rookdb.ai.scripting import script as script_module
from rookdb.errors import ScriptError
from tests.support.scripting import ENGINE_CRASH, MEMORY_LIMIT_BYTES, TIME_LIMIT_MS, UNREACHED_TIME_LIMIT_MS

CRASHING = f"if (this.Crash) {ENGINE_CRASH}; embeddings.generate({{ Name: this.Name }});"
WATCHDOG = "was killed by the watchdog"


def gone(pid: int) -> bool:
    """True once ``pid`` is neither running nor a zombie (it was reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def names(results: list[ScriptOutput | ScriptError]) -> list[str]:
    return [
        r.message if isinstance(r, ScriptError) else r.fields["Name"][0].texts[0] for r in results
    ]


@pytest.fixture
def crashing() -> Iterator[EmbeddingsScript]:
    with EmbeddingsScript(CRASHING, time_limit_ms=UNREACHED_TIME_LIMIT_MS,
                          memory_limit_bytes=MEMORY_LIMIT_BYTES) as script:
        yield script


def test_engine_crash_fails_only_its_document(crashing: EmbeddingsScript) -> None:
    first = crashing.host_pid
    documents: list[dict[str, Any]] = [{"Name": "a"}, {"Name": "b", "Crash": True}, {"Name": "c"}]
    results = crashing.run_many(documents)
    assert names(results) == ["a", script_module._CRASHED, "c"]
    # The server (this process) lives on, and the crashed host was replaced and reaped.
    assert first is not None and crashing.host_pid not in (None, first) and gone(first)
    assert crashing.run({"Name": "d"}).fields["Name"][0].texts == ("d",)


def test_crash_through_run_raises_script_error(crashing: EmbeddingsScript) -> None:
    with pytest.raises(ScriptError, match="crashed the JavaScript engine"):
        crashing.run({"Crash": True})


def test_crash_while_compiling_is_a_script_error() -> None:
    with pytest.raises(ScriptError, match=r"crashed the JavaScript engine .* while compiling"):
        EmbeddingsScript(f"}}); {ENGINE_CRASH}; (function () {{",
                         time_limit_ms=UNREACHED_TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES)


def test_host_that_cannot_restart_fails_the_rest_of_the_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    script = "if (this.Spin) while (true) {} embeddings.generate({ Name: this.Name });"
    with EmbeddingsScript(script, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES) as compiled:
        # The first document's time-out ends the host; its replacement cannot start.
        monkeypatch.setattr(script_module, "_HOST_MODULE", "rookdb.no_such_module")
        results = compiled.run_many([{"Spin": True}, {"Name": "b"}, {"Name": "c"}])
    timed_out, *unstarted = names(results)
    assert timed_out == f"Embeddings script exceeded its time limit of {TIME_LIMIT_MS} ms"
    # Each says how its host ended: Python's own exit status and last words.
    assert len(unstarted) == 2 and all(
        name.startswith(script_module._CRASHED_ON_COMPILE + " (exit status 1: ")
        and "No module named rookdb.no_such_module" in name for name in unstarted), unstarted


def test_infinite_loop_times_out_and_the_batch_goes_on(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    script = "if (this.Spin) while (true) {} embeddings.generate({ Name: this.Name });"
    # The engine's own limit ends the loop: the watchdog, given a minute, never has to.
    monkeypatch.setattr(script_module, "_WATCHDOG_MARGIN_S", 60.0)
    with caplog.at_level(logging.WARNING, logger=script_module.__name__), \
            EmbeddingsScript(script, time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES) as compiled:
        results = compiled.run_many([{"Name": "a"}, {"Spin": True}, {"Name": "c"}])
    assert names(results) == ["a", f"Embeddings script exceeded its time limit of {TIME_LIMIT_MS} ms", "c"]
    assert WATCHDOG not in caplog.text


def test_watchdog_kills_a_silent_host(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    compiled = EmbeddingsScript(
        "embeddings.generate({ Name: this.Name });", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    )
    with compiled:
        pid = compiled.host_pid
        assert pid is not None
        # Stands for an engine stuck where its own time limit cannot reach it.
        os.kill(pid, signal.SIGSTOP)
        monkeypatch.setattr(script_module, "_WATCHDOG_MARGIN_S", 0.3)
        with caplog.at_level(logging.WARNING, logger=script_module.__name__):
            [result] = compiled.run_many([{"Name": "a"}])  # without the watchdog, this waits forever
        assert isinstance(result, ScriptError) and f"time limit of {TIME_LIMIT_MS} ms" in result.message
        assert f"host {pid} {WATCHDOG}" in caplog.text
        assert gone(pid)
        assert compiled.run({"Name": "b"}).generated


def test_host_killed_between_batches_is_replaced_silently() -> None:
    with EmbeddingsScript(
        "embeddings.generate({ Name: this.Name });", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    ) as compiled:
        assert names(compiled.run_many([{"Name": "a"}])) == ["a"]
        pid = compiled.host_pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        assert compiled._host is not None
        compiled._host.process.wait(timeout=5)
        assert names(compiled.run_many([{"Name": "b"}, {"Name": "c"}])) == ["b", "c"]


def test_close_reaps_the_host_and_a_later_run_starts_another() -> None:
    compiled = EmbeddingsScript(
        "embeddings.generate({ Name: this.Name });", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    )
    pid = compiled.host_pid
    assert pid is not None and not gone(pid)
    compiled.close()
    assert compiled.host_pid is None and gone(pid)
    assert compiled.run({"Name": "x"}).generated
    second = compiled.host_pid
    compiled.close()
    assert second is not None and gone(second)


def test_host_gets_no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ROOKDB_TEST_SECRET", "s3cret")
    with EmbeddingsScript(
        "embeddings.generate({ Name: this.Name });", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    ) as compiled:
        pid = compiled.host_pid
        with open(f"/proc/{pid}/environ", "rb") as environ:
            assert environ.read() == b""


def test_host_runs_this_interpreter() -> None:
    with EmbeddingsScript(
        "embeddings.generate({});", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    ) as compiled:
        assert os.path.realpath(f"/proc/{compiled.host_pid}/exe") == os.path.realpath(sys.executable)


def test_document_that_is_not_json_fails_alone() -> None:
    with EmbeddingsScript(
        "embeddings.generate({ Name: this.Name });", time_limit_ms=TIME_LIMIT_MS, memory_limit_bytes=MEMORY_LIMIT_BYTES
    ) as compiled:
        results = compiled.run_many([{"Name": "a"}, {"When": object()}, {"Name": "c"}])
    assert names(results)[::2] == ["a", "c"]
    assert isinstance(results[1], ScriptError) and "not JSON" in results[1].message
