"""Framing without an engine: the attach stream's frames, and the bounds on the agent's lines."""

from __future__ import annotations

import queue
import socket
import threading

import pytest

from sandbox._framing import STDERR, STDOUT, MessageLines, read_frames


def frame(kind: int, payload: bytes) -> bytes:
    return bytes([kind, 0, 0, 0]) + len(payload).to_bytes(4, "big") + payload


def test_frames_split_across_reads_arrive_whole_and_in_order() -> None:
    ours, theirs = socket.socketpair()
    stream = frame(STDOUT, b"hello\n") + frame(STDERR, b"warn") + frame(STDOUT, b"x" * 70_000)
    received: list[tuple[int, bytes]] = []
    reader = threading.Thread(target=read_frames, args=(ours, lambda k, p: received.append((k, p))))
    reader.start()
    for start in range(0, len(stream), 5):  # headers and payloads cut mid-way
        theirs.sendall(stream[start:start + 5])
    theirs.close()
    reader.join(timeout=10)
    ours.close()
    assert received == [(STDOUT, b"hello\n"), (STDERR, b"warn"), (STDOUT, b"x" * 70_000)]


def test_lines_are_cut_and_read_one_at_a_time() -> None:
    lines = MessageLines(max_line_bytes=100)
    assert lines.feed(b'{"id": 1,') and lines.feed(b' "result": 2}\n')
    assert lines.get(timeout=1) == b'{"id": 1, "result": 2}'
    lines.end()
    assert lines.get(timeout=1) is None


@pytest.mark.parametrize("payload", [
    b"one\ntwo\n",  # a second line before the first is read: someone else writes to the stream
    b"x" * 101,     # one line longer than the cap
])
def test_a_stream_past_its_bounds_breaks_once_and_the_rest_is_dropped(payload: bytes) -> None:
    lines = MessageLines(max_line_bytes=100)
    assert lines.feed(payload) is False
    assert lines.feed(b"more\n") is True  # read, but dropped
    lines.refuse()
    taken = []
    with pytest.raises(queue.Empty):
        while True:
            taken.append(lines.get(timeout=0.05))
    assert taken[-1] == b""  # never valid JSON: the session sees a violation
    assert b"more" not in taken
