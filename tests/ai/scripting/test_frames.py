"""The frames between the server and a script host, over a real pipe."""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from typing import IO

import pytest
from py_mini_racer._exc import JSTimeoutException

from rookdb.ai.scripting._frames import FrameReader, error_from_wire, error_to_wire, write_frame
from rookdb.errors import RookError, ScriptError


@pytest.fixture
def pipe() -> Iterator[tuple[IO[bytes], IO[bytes]]]:
    read_end, write_end = os.pipe()
    reader, writer = os.fdopen(read_end, "rb"), os.fdopen(write_end, "wb")
    yield reader, writer
    reader.close()
    with contextlib.suppress(BrokenPipeError):  # what a test wrote to a closed reader stays unsent
        writer.close()


def test_messages_arrive_in_order_whole(pipe: tuple[IO[bytes], IO[bytes]]) -> None:
    reader, writer = pipe
    big = {"documents": ["x" * 200_000]}  # larger than the pipe's buffer and than one read

    def send() -> None:
        for message in ({"ok": True}, big, {"answer": "é", "restart": False}):
            write_frame(writer, message)

    sender = threading.Thread(target=send)
    sender.start()
    frames = FrameReader(reader)
    assert [frames.read(time.monotonic() + 5) for _ in range(2)] == [{"ok": True}, big]
    assert frames.read() == {"answer": "é", "restart": False}
    sender.join()


def test_a_frame_split_across_writes_is_joined(pipe: tuple[IO[bytes], IO[bytes]]) -> None:
    reader, writer = pipe
    write_frame(writer, {"answer": "abc"})
    frames = FrameReader(reader)
    assert frames.read() == {"answer": "abc"}
    writer.write(b"\x00\x00\x00\x02{")  # half a frame: a timeout, nothing lost
    writer.flush()
    with pytest.raises(TimeoutError):
        frames.read(time.monotonic() + 0.05)
    writer.write(b"}")
    writer.flush()
    assert frames.read(time.monotonic() + 5) == {}


def test_closed_pipe_is_end_of_stream(pipe: tuple[IO[bytes], IO[bytes]]) -> None:
    reader, writer = pipe
    write_frame(writer, [1])
    writer.close()
    frames = FrameReader(reader)
    assert frames.read() == [1]
    with pytest.raises(EOFError):
        frames.read()


def test_reading_a_closed_stream_is_refused(pipe: tuple[IO[bytes], IO[bytes]]) -> None:
    reader, _ = pipe
    frames = FrameReader(reader)
    reader.close()
    with pytest.raises(ValueError):
        frames.read(time.monotonic() + 1)


def test_writing_to_a_gone_reader_raises(pipe: tuple[IO[bytes], IO[bytes]]) -> None:
    reader, writer = pipe
    reader.close()
    with pytest.raises(BrokenPipeError):
        write_frame(writer, {"documents": []})


def test_errors_cross_the_wire_with_their_kind_and_cause() -> None:
    script_error = ScriptError("Embeddings script exceeded its time limit of 5 ms")
    script_error.__cause__ = JSTimeoutException()
    back = error_from_wire(error_to_wire(script_error))
    assert type(back) is ScriptError and back.message == script_error.message
    assert isinstance(back.__cause__, JSTimeoutException) and str(back.__cause__) == str(script_error.__cause__)
    engine_failure = error_from_wire(error_to_wire(RookError("Embeddings script cannot run")))
    assert type(engine_failure) is RookError and engine_failure.__cause__ is None
