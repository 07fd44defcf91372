"""A throwaway PostgreSQL server for tests and benchmarks: a temporary cluster on a loopback port.

It runs Debian's server binaries (``/usr/lib/postgresql/<version>/bin``; ``ROOKDB_POSTGRES_BIN``
names another directory). ``initdb`` and ``postgres`` refuse to run as root, so when we are root
the cluster belongs to the ``postgres`` user. The server is stopped by its PID, and it stops by
itself when the process that started it dies (Linux's parent-death signal), so a killed test run
leaves no server behind; the next server removes the directory such a run left.
"""

from __future__ import annotations

import ctypes
import os
import pwd
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rookdb.server.runner import free_port
from rookdb.testing.server_process import DEFAULT_STOP_TIMEOUT, interrupt, kill

__all__ = ["PostgresServer", "find_server_binaries"]

DEFAULT_START_TIMEOUT = 60.0
_POLL_INTERVAL = 0.05
_DEBIAN_BINARIES = Path("/usr/lib/postgresql")
_SYSTEM_USER = "postgres"
_PR_SET_PDEATHSIG = 1
_PREFIX = "rookdb-postgres-"
_OWNER_FILE = "owner.pid"

# A test cluster may lose everything in a power cut (fsync off), but never a commit when a process
# is killed: the operating system still holds what PostgreSQL wrote.
_SERVER_OPTIONS = {
    "listen_addresses": "127.0.0.1",
    "fsync": "off",
    "full_page_writes": "off",
    "shared_buffers": "32MB",
    "max_connections": "200",
    "max_locks_per_transaction": "256",
}


def find_server_binaries() -> Path | None:
    """The directory holding ``initdb`` and ``postgres``: ROOKDB_POSTGRES_BIN, else Debian's newest."""
    configured = os.environ.get("ROOKDB_POSTGRES_BIN")
    if configured:
        return Path(configured)
    if not _DEBIAN_BINARIES.is_dir():
        return None
    versions = sorted(
        (entry for entry in _DEBIAN_BINARIES.iterdir() if re.fullmatch(r"\d+", entry.name)
         and (entry / "bin" / "initdb").exists()),
        key=lambda entry: int(entry.name))
    return versions[-1] / "bin" if versions else None


def _remove_abandoned_clusters() -> None:
    """Clusters whose owning process is gone (a killed test run): their server stopped with it."""
    for directory in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*"):
        try:
            owner = int((directory / _OWNER_FILE).read_text())
        except (OSError, ValueError):
            continue
        if not Path(f"/proc/{owner}").exists():
            shutil.rmtree(directory, ignore_errors=True)


def _stop_with_parent() -> None:
    """Run in the child between fork and exec: a fast shutdown when our process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGINT)


class PostgresServer:
    """A fresh PostgreSQL cluster in a temporary directory, served on 127.0.0.1; a context manager."""

    def __init__(self, *, binaries: Path | None = None, port: int | None = None) -> None:
        found = binaries or find_server_binaries()
        if found is None or not (found / "initdb").exists():
            raise RuntimeError("PostgreSQL server binaries not found: install Debian's 'postgresql' package "
                               "or set ROOKDB_POSTGRES_BIN")
        self.binaries = found
        self.port = port or free_port()
        self.directory: Path | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._switch_user = os.geteuid() == 0
        if self._switch_user:
            account = pwd.getpwnam(_SYSTEM_USER)
            self._owner = (account.pw_uid, account.pw_gid)
        else:
            self._owner = (os.getuid(), os.getgid())

    @property
    def url(self) -> str:
        """The connection URL of the ``postgres`` database as the ``postgres`` superuser (trust auth)."""
        return self.url_for("postgres")

    def url_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def _run(self, *args: str, preexec: Callable[[], None] | None = None,
             log: Path | None = None) -> subprocess.Popen[bytes]:
        assert self.directory is not None
        output = (log or self.directory / "initdb.log").open("ab")
        try:
            return subprocess.Popen(
                [str(self.binaries / args[0]), *args[1:]], stdout=output, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, cwd=self.directory, preexec_fn=preexec,
                user=self._owner[0] if self._switch_user else None,
                group=self._owner[1] if self._switch_user else None,
                extra_groups=[] if self._switch_user else None)
        finally:
            output.close()

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> PostgresServer:
        """Create the cluster on first start, then run the server (again, after ``stop`` or ``kill``)."""
        if self.directory is None:
            # Our own temporary directory: pytest's are private to root, and the server runs as postgres.
            _remove_abandoned_clusters()
            self.directory = Path(tempfile.mkdtemp(prefix=_PREFIX))
            (self.directory / _OWNER_FILE).write_text(str(os.getpid()))
            os.chown(self.directory, *self._owner)
            initdb = self._run("initdb", "-D", str(self.directory / "data"), "-U", "postgres", "-A", "trust",
                               "--no-sync", "-E", "UTF8", "--no-locale")
            if initdb.wait(timeout) != 0:
                raise RuntimeError(f"initdb failed: {self._log_tail('initdb.log')}")
        data = self.directory / "data"
        options = [item for key, value in _SERVER_OPTIONS.items() for item in ("-c", f"{key}={value}")]
        self.process = self._run(
            "postgres", "-D", str(data), "-p", str(self.port), "-k", str(self.directory), *options,
            preexec=_stop_with_parent, log=self.directory / "server.log")
        self._wait_ready(timeout)
        return self

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.process.returncode}: "
                                   f"{self._log_tail('server.log')}")
            probe = subprocess.run(
                [str(self.binaries / "pg_isready"), "-q", "-h", "127.0.0.1", "-p", str(self.port), "-t", "2"],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if probe.returncode == 0:
                return
            time.sleep(_POLL_INTERVAL)
        self.kill()
        raise RuntimeError(f"postgres did not accept connections on port {self.port} within {timeout}s")

    def _log_tail(self, name: str) -> str:
        assert self.directory is not None
        path = self.directory / name
        return path.read_text(errors="replace")[-2000:] if path.exists() else "(no log)"

    def create_database(self, name: str) -> str:
        """Create an empty database and return its URL."""
        subprocess.run([str(self.binaries / "createdb"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                        name], stdin=subprocess.DEVNULL, capture_output=True, check=True)
        return self.url_for(name)

    def kill(self) -> None:
        """SIGKILL the postmaster: its backends notice and exit; no shutdown checkpoint is written."""
        kill(self.process)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Fast shutdown (SIGINT to the PID), SIGKILL after ``timeout``; the cluster stays for ``start``."""
        interrupt(self.process, timeout)

    def close(self) -> None:
        """Stop the server and remove the cluster."""
        self.stop()
        if self.directory is not None:
            shutil.rmtree(self.directory, ignore_errors=True)
            self.directory = None

    def __enter__(self) -> PostgresServer:
        try:
            return self.start()
        except BaseException:
            self.close()
            raise

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
