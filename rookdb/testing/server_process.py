"""A rookdb server (or any ready-probed command) in a child process, as users run it; restartable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import httpx

from rookdb.server.runner import free_port

__all__ = ["ChildProcess", "ServerProcess", "interrupt", "kill"]

DEFAULT_START_TIMEOUT = 60.0
DEFAULT_STOP_TIMEOUT = 30.0
_POLL_INTERVAL = 0.05


def kill(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL a child that is still running, and reap it."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGKILL)
        process.wait(DEFAULT_STOP_TIMEOUT)


def interrupt(process: subprocess.Popen[bytes] | None, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
    """SIGINT (Ctrl-C) a child that is still running; SIGKILL if it has not exited within ``timeout``."""
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            kill(process)


class ChildProcess:
    """A command started in a child process and waited for until ``ready_url`` answers."""

    def __init__(self, command: Sequence[str], ready_url: str, *, env: Mapping[str, str] | None = None,
                 log: Path | None = None) -> None:
        self.command = list(command)
        self.ready_url = ready_url
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = DEFAULT_START_TIMEOUT) -> Self:
        if self.log is not None:
            with self.log.open("ab") as output:
                self.process = subprocess.Popen(self.command, stdout=output, stderr=subprocess.STDOUT, env=self.env)
        else:
            self.process = subprocess.Popen(
                self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=self.env)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.command[0]} exited with {self.process.returncode} while starting"
                                   + (f"; see {self.log}" if self.log else ""))
            try:
                if httpx.get(self.ready_url, timeout=1).status_code < 500:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(_POLL_INTERVAL)
        self.kill()
        raise RuntimeError(f"{' '.join(self.command)} did not answer {self.ready_url} within {timeout}s")

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to clean up (crash tests)."""
        kill(self.process)

    def stop(self, timeout: float = DEFAULT_STOP_TIMEOUT) -> None:
        """Ctrl-C, then SIGKILL if it has not exited within ``timeout``."""
        interrupt(self.process, timeout)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.stop()


class ServerProcess(ChildProcess):
    """``python -m rookdb serve`` over one data directory on a free loopback port."""

    def __init__(self, data_dir: Path, *, port: int | None = None, env: Mapping[str, str] | None = None,
                 log: Path | None = None, arguments: Sequence[str] = ()) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-m", "rookdb", "serve", "--port", str(self.port), "--data-dir", str(data_dir),
                   *arguments]
        super().__init__(command, f"{self.url}/build/version", env=env, log=log)

