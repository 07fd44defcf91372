"""The JavaScript host processes (embeddings and index scripts, patches) and the frames on their
pipes: a 4-byte big-endian length, then that many bytes of JSON.

`HostProcess` is the server's end: it starts ``python -I -m <host module>``, talks in frames, and
when the host dies says how (exit status, the end of its stderr). `host_pipes` is the host's end.
"""

from __future__ import annotations

import contextlib
import os
import select
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from typing import IO, Any

import orjson

__all__ = [
    "HOST_STARTUP_ALLOWANCE_S",
    "FrameReader",
    "HostLost",
    "HostProcess",
    "host_pipes",
    "write_frame",
    "write_raw_frame",
]

# How long a starting host may take to answer its first frame: only a ceiling for a hung start, and
# generous because a loaded machine can take many seconds to start a Python process and V8.
HOST_STARTUP_ALLOWANCE_S = 60.0

_HEADER = struct.Struct(">I")
_READ_SIZE = 1 << 16


def write_raw_frame(stream: IO[bytes], payload: bytes) -> None:
    """Write one frame of already-encoded JSON and flush it: what was written before a crash has
    reached the other end. Raises `OSError` (`BrokenPipeError` included) when the other end is gone,
    `ValueError` once ``stream`` is closed."""
    stream.write(_HEADER.pack(len(payload)) + payload)
    stream.flush()


def write_frame(stream: IO[bytes], message: Any) -> None:
    write_raw_frame(stream, orjson.dumps(message))


class FrameReader:
    """Reads frames from a pipe, keeping what arrived past the current frame for the next one.

    Reads go straight to the pipe's descriptor (``select`` needs it), so nothing else may read
    ``stream``; once it is closed, reads raise `ValueError`.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream
        self._buffer = bytearray()

    def read_raw(self, deadline: float | None = None) -> bytes:
        """The next frame's bytes. Raises `EOFError` when the other end closed the pipe, and
        `TimeoutError` when the frame is not complete by ``deadline`` (a ``time.monotonic()`` value;
        None waits)."""
        self._fill(_HEADER.size, deadline)
        (length,) = _HEADER.unpack_from(self._buffer)
        end = _HEADER.size + length
        self._fill(end, deadline)
        # Taken only once whole, so that a frame cut short by the deadline can still be read later.
        payload = bytes(self._buffer[_HEADER.size:end])
        del self._buffer[:end]
        return payload

    def read(self, deadline: float | None = None) -> Any:
        """The next message (see `read_raw`)."""
        return orjson.loads(self.read_raw(deadline))

    def _fill(self, size: int, deadline: float | None) -> None:
        while len(self._buffer) < size:
            descriptor = self._stream.fileno()
            if deadline is not None:
                remaining = deadline - time.monotonic()
                # poll, not select: a long-lived server holds descriptors past select's limit of 1024.
                readable = select.poll()
                readable.register(descriptor, select.POLLIN)
                if remaining <= 0 or not readable.poll(remaining * 1000):
                    raise TimeoutError
            chunk = os.read(descriptor, _READ_SIZE)
            if not chunk:
                raise EOFError
            self._buffer += chunk


# How much of a dead host's stderr its report quotes (V8 prints a fatal error's reason there).
_STDERR_TAIL_BYTES = 600
_EXIT_GRACE_S = 2.0


class HostLost(Exception):
    """The host died (``hung`` False) or stayed silent past a deadline and was killed (``hung`` True);
    ``report`` says how it ended."""

    def __init__(self, *, hung: bool, report: str) -> None:
        super().__init__(report)
        self.hung = hung
        self.report = report


def _reap(process: subprocess.Popen[bytes], stderr: IO[bytes]) -> None:
    for pipe in (process.stdin, process.stdout):
        if pipe is not None:
            with contextlib.suppress(OSError):
                pipe.close()
    if process.poll() is None:
        process.kill()
    process.wait()
    stderr.close()


class HostProcess:
    """One host process and the framed pipes to it; killed and reaped by ``stop`` or on GC.

    Only the interpreter's own path travels: no environment (secrets), no inherited files, and -I
    keeps the server's working directory and PYTHON* variables out of the import path. The host's
    stderr goes to a private temporary file, never the server's own descriptor 2 (which a daemon or a
    test runner's capture may have closed or redirected), and is read back only when the host dies.
    """

    def __init__(self, module: str) -> None:
        self._stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the host, closed by _reap
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-m", module],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._stderr,
                env={},
                cwd="/",
                close_fds=True,
            )
        except BaseException:
            self._stderr.close()
            raise
        self._finalizer = weakref.finalize(self, _reap, self.process, self._stderr)
        assert self.process.stdin is not None and self.process.stdout is not None
        self._requests = self.process.stdin
        self._answers = FrameReader(self.process.stdout)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self._finalizer.alive

    def send(self, message: Any) -> None:
        """Send one frame; raises `HostLost` (and stops the host) when it is gone."""
        try:
            write_frame(self._requests, message)
        except (OSError, ValueError) as error:
            raise self._lost(hung=False) from error

    def receive(self, timeout_s: float) -> Any:
        """The next message; the host is killed if it does not come within ``timeout_s``."""
        return orjson.loads(self.receive_raw(timeout_s))

    def receive_raw(self, timeout_s: float) -> bytes:
        try:
            return self._answers.read_raw(time.monotonic() + timeout_s)
        except TimeoutError:
            raise self._lost(hung=True) from None
        except (EOFError, OSError, ValueError):
            raise self._lost(hung=False) from None

    def stop(self) -> None:
        self._finalizer()

    def report(self) -> str:
        """How the host ended: its exit status and the end of its stderr (empty while it runs)."""
        status = self.process.poll()
        if status is None:
            return ""
        described = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
        tail = b""
        with contextlib.suppress(OSError, ValueError):
            self._stderr.seek(0, os.SEEK_END)
            size = self._stderr.tell()
            self._stderr.seek(max(0, size - _STDERR_TAIL_BYTES))
            tail = self._stderr.read()
        text = " | ".join(line.strip() for line in tail.decode("utf-8", "replace").splitlines() if line.strip())
        return f"{described}: {text}" if text else described

    def _lost(self, *, hung: bool) -> HostLost:
        if not hung:
            # A closed pipe comes just before the exit: wait for it, so the report has the real status.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=_EXIT_GRACE_S)
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        report = "killed after staying silent" if hung else self.report()
        self.stop()
        return HostLost(hung=hung, report=report)


def host_pipes() -> tuple[FrameReader, IO[bytes]]:
    """The host's end: requests from stdin and a private stream for answers; the host's stdout then
    points at its stderr, so that anything printed by accident cannot corrupt the frames."""
    requests = FrameReader(sys.stdin.buffer)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    return requests, answers
