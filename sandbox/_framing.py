"""Bytes from a container, framed: the engine's attach stream, and the agent's message lines.

``read_frames`` splits the engine's multiplexed attach stream (8-byte headers: stream kind, then
the payload's size) into stdout and stderr payloads. ``MessageLines`` cuts the agent's stdout into
its protocol's lines (one JSON message per line) and bounds what it keeps of them.
"""

from __future__ import annotations

import queue
import socket
from collections.abc import Callable

STDOUT, STDERR = 1, 2
_HEADER_BYTES = 8
_RECEIVE_BYTES = 256 * 1024


def read_frames(sock: socket.socket, on_frame: Callable[[int, bytes], None]) -> None:
    """Call ``on_frame(kind, payload)`` for each frame until the stream ends or fails."""
    pending = bytearray()
    try:
        while data := sock.recv(_RECEIVE_BYTES):
            pending += data
            while len(pending) >= _HEADER_BYTES:
                size = int.from_bytes(pending[4:_HEADER_BYTES], "big")
                if len(pending) < _HEADER_BYTES + size:
                    break
                kind, payload = pending[0], bytes(pending[_HEADER_BYTES:_HEADER_BYTES + size])
                del pending[:_HEADER_BYTES + size]
                on_frame(kind, payload)
    except OSError:
        pass


class MessageLines:
    """The agent's replies, one line each, for the session to ``get``; None once output ends.

    Protocol bytes are not counted in the container's output limit (an export streams the whole
    work dir), so what is kept of them is bounded here: one line of at most ``max_line_bytes``,
    and at most one unread line, since the agent answers one request at a time. More is someone
    else writing to the stream (code in the agent's process can find its fd): the stream is
    broken, and the rest is read but dropped.
    """

    def __init__(self, max_line_bytes: int) -> None:
        self.max_line_bytes = max_line_bytes
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._partial = bytearray()
        self._broken = False

    def feed(self, payload: bytes) -> bool:
        """Take stdout bytes; False the moment they break the protocol's bounds (the caller
        then stops the container and calls ``refuse``)."""
        if self._broken:
            return True
        self._partial += payload
        while (end := self._partial.find(b"\n")) >= 0:
            if self._lines.qsize() >= 1:
                return self._break()
            self._lines.put(bytes(self._partial[:end]))
            del self._partial[:end + 1]
        if len(self._partial) > self.max_line_bytes:
            return self._break()
        return True

    def _break(self) -> bool:
        self._broken = True
        self._partial = bytearray()
        return False

    def refuse(self) -> None:
        """Wake a waiting reader with a line that is never valid JSON: it sees a violation."""
        self._lines.put(b"")

    def end(self) -> None:
        """The container's output has ended: a waiting reader gets None."""
        self._lines.put(None)

    def get(self, timeout: float) -> bytes | None:
        """The next line; queue.Empty when none comes within ``timeout`` seconds."""
        return self._lines.get(timeout=timeout)
