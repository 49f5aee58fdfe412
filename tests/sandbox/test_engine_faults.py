"""The engine's faults are the grader's, never the candidate's: a session whose container the engine
loses (killed from outside, the engine gone mid-call) ends in ``EngineFailed`` with the outcome
``infrastructure_error``, and its container is still removed once the engine answers again.

None of this disturbs the engine other tests share: an outside kill is ``docker kill`` of our own
container, and the engine's disappearance is that of a socket standing in for it (``EngineProxy``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import sandbox
from sandbox import AgentSession, EngineFailed, Outcome, SessionClosed, SessionSpec
from sandbox._engine import engine_client

pytestmark = [pytest.mark.docker, pytest.mark.usefixtures("host_unharmed"),
              pytest.mark.timeout(120)]

LIMITS = sandbox.Limits(memory="256m", cpus=1.0, timeout=60)

SOLUTION = """
import os, signal, time

def ping():
    return "pong"

def sleep(seconds):
    time.sleep(seconds)
    return "slept"

def kill_myself():
    os.kill(os.getpid(), signal.SIGKILL)

def terminate_init():
    os.kill(1, signal.SIGTERM)
    time.sleep(30)
"""


@pytest.fixture
def serve(runner_image: str, tmp_path: Path):
    @contextmanager
    def open_() -> Iterator[AgentSession]:
        submission = tmp_path / "submission"
        submission.mkdir(exist_ok=True)
        (submission / "solution.py").write_text(textwrap.dedent(SOLUTION))
        sandbox.make_readable(submission)
        with sandbox.open_session(SessionSpec(image=runner_image, limits=LIMITS,
                                              submission=submission, call_timeout=20)) as session:
            yield session
    return open_


def _kill_from_outside(session: AgentSession, after: float = 0.0) -> threading.Thread:
    """`docker kill` of the session's own container, as an operator or a stopping engine would."""
    container_id = session._container.id
    assert container_id is not None

    def kill() -> None:
        time.sleep(after)
        subprocess.run(["docker", "kill", container_id], capture_output=True, check=False,
                       timeout=30)
    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread


def test_a_container_killed_from_outside_during_a_call_is_the_engines_fault(serve) -> None:
    # The session's end raises it again: the session as a whole was lost.
    with pytest.raises(EngineFailed, match="killed from outside"), serve() as session:
        killer = _kill_from_outside(session, after=0.5)
        with pytest.raises(EngineFailed, match="killed from outside the grader") as caught:
            session.call("sleep", seconds=20)
        killer.join()
        assert caught.value.result is not None
        assert caught.value.result.outcome is Outcome.INFRASTRUCTURE_ERROR
        with pytest.raises(EngineFailed):  # and so is every later call of the session
            session.call("ping")


def test_a_container_killed_from_outside_between_calls_is_the_engines_fault(serve) -> None:
    with pytest.raises(EngineFailed), serve() as session:
        assert session.call("ping") == "pong"
        _kill_from_outside(session).join()
        time.sleep(0.5)
        with pytest.raises(EngineFailed):
            session.call("ping")


def test_an_open_session_whose_container_is_killed_after_its_last_call_raises(serve) -> None:
    with pytest.raises(EngineFailed), serve() as session:
        assert session.call("ping") == "pong"
        _kill_from_outside(session).join()
        time.sleep(0.5)


@pytest.mark.parametrize("call", ["kill_myself", "terminate_init"])
def test_the_candidate_killing_its_own_processes_stays_its_own_failure(serve, call: str) -> None:
    """A signal sent inside the container makes no engine event: it cannot pass for the engine's."""
    with serve() as session, pytest.raises(SessionClosed) as caught:
        session.call(call)
    assert caught.value.outcome in {Outcome.KILLED.value, Outcome.NONZERO_EXIT.value}


# --- the engine goes away and comes back -------------------------------------------------------

class EngineProxy:
    """A Unix socket that forwards to the engine's, and can go away (every connection cut, new ones
    refused) and come back: the grader's view of an engine that restarts."""

    def __init__(self, path: Path, target: str) -> None:
        self.path, self.target = path, target
        self._listener: socket.socket | None = None
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def start(self) -> EngineProxy:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.path))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def cut(self) -> None:
        """Gone: the socket file removed, every open connection (attach and events streams
        included) closed."""
        assert self._listener is not None
        self._listener.close()
        self.path.unlink()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._open.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            upstream.connect(self.target)
            with self._lock:
                self._open.update((client, upstream))
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
            sink.shutdown(socket.SHUT_WR)  # a half-close, as the agent's end of stdin is
        except OSError:
            pass


@pytest.fixture
def engine_proxy(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                 ) -> Iterator[EngineProxy]:
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    if not host.startswith("unix://"):
        pytest.fail(f"the engine proxy forwards to a Unix socket, not {host}", pytrace=False)
    # A short path: a Unix socket's name is capped at 108 bytes.
    folder = Path(tempfile.mkdtemp(prefix="engine-proxy-", dir="/tmp"))
    proxy = EngineProxy(folder / "docker.sock", host.removeprefix("unix://")).start()
    monkeypatch.setenv("DOCKER_HOST", proxy.url)
    engine_client.cache_clear()
    try:
        yield proxy
    finally:
        engine_client.cache_clear()
        with contextlib.suppress(OSError):
            proxy.cut()
        shutil.rmtree(folder, ignore_errors=True)


def test_the_engine_gone_mid_call_is_its_fault_and_the_container_goes_when_it_is_back(
        serve, engine_proxy: EngineProxy) -> None:
    gone_for = 3.0

    def restart() -> None:
        time.sleep(1.0)
        engine_proxy.cut()
        time.sleep(gone_for)
        engine_proxy.start()
    restarting = threading.Thread(target=restart, daemon=True)
    started = time.monotonic()
    with pytest.raises(EngineFailed) as caught, serve() as session:
        restarting.start()
        session.call("sleep", seconds=30)
    restarting.join()
    assert caught.value.result is not None
    assert caught.value.result.outcome is Outcome.INFRASTRUCTURE_ERROR
    # Removal waited for the engine to answer again, then removed the container (host_unharmed).
    assert time.monotonic() - started >= 1.0 + gone_for
