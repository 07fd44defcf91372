"""Host processes: they start whatever the server's own descriptors are, and say how they ended."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rookdb.frames import HOST_STARTUP_ALLOWANCE_S, HostLost, HostProcess

# A server process that has lost descriptor 2 (a daemon, a test runner's capture) still starts
# both kinds of JavaScript host and gets their answers.
_WITHOUT_STDERR = """
import os
os.close(2)
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


def test_hosts_start_when_the_server_has_no_stderr() -> None:
    finished = subprocess.run([sys.executable, "-c", _WITHOUT_STDERR], cwd=Path(__file__).parents[1],
                              capture_output=True, text=True, timeout=240)
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
