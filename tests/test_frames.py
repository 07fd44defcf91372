"""Hosts start whatever the server's own descriptors are."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
