"""The throwaway PostgreSQL server: runs as the postgres user, on loopback, and never outlives us."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from rookdb.testing.postgres_server import PostgresServer

pytestmark = pytest.mark.slow


def alive(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status")
    return status.exists() and "\nState:\tZ" not in status.read_text()


def wait_gone(pid: int, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_serves_loopback_as_the_postgres_user_and_stops_by_pid() -> None:
    with PostgresServer() as server:
        pid, directory = server.pid, server.directory
        assert pid is not None and directory is not None
        with psycopg.connect(server.url) as connection:
            row = connection.execute("SELECT current_setting('listen_addresses'), inet_server_addr()").fetchone()
        assert row is not None and row[0] == "127.0.0.1" and str(row[1]) == "127.0.0.1"
        owner = int(Path(f"/proc/{pid}/status").read_text().split("\nUid:\t")[1].split()[0])
        assert owner == (pwd.getpwnam("postgres").pw_uid if os.geteuid() == 0 else os.getuid())
        server.create_database("extra")
        with psycopg.connect(server.url_for("extra")) as connection:
            assert connection.execute("SELECT current_database()").fetchone() == ("extra",)
    assert wait_gone(pid)
    assert not directory.exists()


def test_a_killed_server_restarts_on_its_data() -> None:
    with PostgresServer() as server:
        with psycopg.connect(server.url, autocommit=True) as connection:
            connection.execute("CREATE TABLE kept (value int); INSERT INTO kept VALUES (7)")
        first = server.pid
        server.kill()
        assert first is not None and wait_gone(first)
        server.start()
        with psycopg.connect(server.url) as connection:
            assert connection.execute("SELECT value FROM kept").fetchone() == (7,)


def test_the_server_stops_when_the_process_that_started_it_dies() -> None:
    script = ("import os, signal\n"
              "from rookdb.testing.postgres_server import PostgresServer\n"
              "server = PostgresServer().start()\n"
              "print(server.pid, server.directory, flush=True)\n"
              "os.kill(os.getpid(), signal.SIGKILL)\n")
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert child.returncode == -9, child.stderr
    pid, directory = int(child.stdout.split()[0]), Path(child.stdout.split()[1])
    assert wait_gone(pid), f"postgres {pid} outlived the process that started it"
    assert directory.exists()
    with PostgresServer():  # the next server sweeps what the dead run left
        assert not directory.exists()
