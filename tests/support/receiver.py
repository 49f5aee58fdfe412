"""A real HTTP receiver on 127.0.0.1 for outbound delivery tests: it answers each request with
the next status of a script (then 200) and keeps every request as it arrived, bytes and all."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    at: float  # time.monotonic() when it arrived


@dataclass
class Receiver:
    url: str
    statuses: list[int]
    requests: list[Received] = field(default_factory=list)
    answer: bytes = b"ok"
    extra_headers: dict[str, str] = field(default_factory=dict)
    hold: threading.Event | None = None  # set: answers go out; until then requests wait


@contextmanager
def receiver(statuses: list[int] | None = None, *, answer: bytes = b"ok",
             extra_headers: dict[str, str] | None = None,
             hold: threading.Event | None = None) -> Iterator[Receiver]:
    """A receiver answering ``statuses`` in turn, then 200, until the block ends; with ``hold``,
    each answer waits until it is set (a receiver that hangs)."""
    state = Receiver(url="", statuses=list(statuses or []), answer=answer,
                     extra_headers=dict(extra_headers or {}), hold=hold)
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            with lock:
                state.requests.append(Received(self.command, self.path, dict(self.headers),
                                               body, time.monotonic()))
                status = state.statuses.pop(0) if state.statuses else 200
            if state.hold is not None:
                state.hold.wait(60)
            self.send_response(status)
            for name, value in state.extra_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(state.answer)))
            self.end_headers()
            self.wfile.write(state.answer)

        do_PUT = do_PATCH = do_POST  # ATS callbacks: Greenhouse's is a PATCH

        def log_message(self, *_args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        if hold is not None:
            hold.set()
        server.shutdown()
        server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/hook"
