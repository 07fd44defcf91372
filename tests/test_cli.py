"""The ``rookdb`` command as users run it: import-sample, serve, Ctrl-C, the bind-address rule."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from rookdb.cli import main
from rookdb.server.runner import free_port


def test_import_sample_loads_northwind(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-sample", "northwind", "--database", "Northwind", "--data-dir", str(tmp_path)]) == 0
    assert "Imported 1051 documents into Northwind" in capsys.readouterr().out
    assert (tmp_path / "databases" / "Northwind" / "rookdb.sqlite3").exists()


def test_non_loopback_address_is_refused_without_the_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)]) == 2
    error = capsys.readouterr().err
    assert "refusing to listen on 0.0.0.0 without TLS" in error
    assert "--unsecured-remote-access" in error


@pytest.mark.slow
def test_serve_answers_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "rookdb", "serve", "--port", str(port), "--data-dir", str(tmp_path),
         "--with-sample", "northwind"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/databases", params={"namesOnly": "true"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "server did not start"
                assert process.poll() is None, process.stdout.read() if process.stdout else ""
                time.sleep(0.1)
        assert response.json() == {"Databases": ["Northwind"]}
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, output
    assert "Loaded 1051 northwind documents" in output
    assert "Traceback" not in output
