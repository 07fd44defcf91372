"""Host processes: they start whatever the server's own descriptors are, and say how they ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rookdb.frames import HOST_STARTUP_ALLOWANCE_S, HostLost, HostProcess

# Both kinds of JavaScript host start and answer, after the server process set itself up as {setup}.
_STARTS_BOTH_HOSTS = """
import os
{setup}
from rookdb.ai.scripting import EmbeddingsScript
from rookdb.documents.patching.engine import PatchEngine, PatchRun
with EmbeddingsScript("embeddings.generate({ Name: this.Name });", time_limit_ms=5000,
                      memory_limit_bytes=64 * 1024 * 1024) as script:
    assert script.run({"Name": "a"}).generated
engine = PatchEngine(time_limit_ms=5000, memory_limit_bytes=64 * 1024 * 1024, hosts=1, cached_scripts=8)
try:
    [outcome] = engine.run("this.Seen = true;", {}, [PatchRun({"Name": "a"})], lambda ids, keys: ({}, {}))
    assert outcome.error is None and outcome.document["Seen"] is True, outcome
finally:
    engine.close()
print("started", flush=True)
"""


@pytest.mark.parametrize("setup", [
    # A daemon or a test runner's capture: no descriptor 2.
    "os.close(2)",
    # A long-lived server: its pipes to new hosts get descriptors past select()'s limit of 1024.
    "held = [os.open(os.devnull, os.O_RDONLY) for _ in range(1100)]",
], ids=["no-stderr", "descriptors-past-1024"])
def test_hosts_start_and_answer(setup: str) -> None:
    finished = subprocess.run([sys.executable, "-c", _STARTS_BOTH_HOSTS.replace("{setup}", setup)],
                              cwd=Path(__file__).parents[1], capture_output=True, text=True, timeout=240)
    assert finished.returncode == 0 and finished.stdout.strip() == "started", finished


def test_a_host_that_dies_says_how() -> None:
    host = HostProcess("rookdb.no_such_module")
    with pytest.raises(HostLost) as lost:
        host.receive(HOST_STARTUP_ALLOWANCE_S)
    assert not lost.value.hung and not host.alive
    report = lost.value.report
    assert report.startswith("exit status 1: ") and "No module named rookdb.no_such_module" in report


def test_a_silent_host_is_killed_at_the_deadline() -> None:
    host = HostProcess("rookdb.ai.scripting._host")  # waits for its first frame, which never comes
    with pytest.raises(HostLost) as lost:
        host.receive(0.2)
    assert lost.value.hung and not host.alive and host.process.returncode is not None
