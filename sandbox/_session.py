"""The trusted side of the agent channel: one session spans the calls of one phase.

Warm sessions. Importing the ML stack (torch, scikit-learn, transformers...) costs seconds in
every fresh container (about 2.8 s under runc and 7.4 s under gVisor for torch and
scikit-learn), and each phase of a grading gets a fresh container. Rather than share a process
between phases or submissions (which would carry state from one to the next), each session still
gets its own fresh container with the same hardening; what changes is *when* the imports happen.
``start_session`` starts the container and at once asks the agent to ``__preload__`` the
modules the submission's source imports, of the packages the caller allows (``preload``:
``RUNNER_MODULES`` and what an assignment's environment adds); ``PendingSession.open`` later
begins the phase. Started ahead of need (while the previous phase runs, or while the trusted
side is still staging), a session opens in the time it takes to import ``solution`` over an
already imported stack.

What keeps this as safe as a cold session: the preload runs none of the candidate's code (the
agent reads their files as text only; see sandbox/agent/agent.py), the environment is the
trusted side's as before, and the phase's clock (its wall-clock limit, and the wall time
reported) starts at ``open()``: an import still running then counts, as the candidate's own
import would, while the wait before it does not. Only modules the source names are imported, so
a session of code that never imports torch does not pay for it (in memory or CPU), and
``preload=()`` is a cold session, the agent's behaviour before warm sessions existed.

The agent itself is bind-mounted from this package over the image's copy, so the two ends of the
protocol always come from the same checkout, whatever image a session runs.
"""

from __future__ import annotations

import base64
import binascii
import json
import queue
import tarfile
import tempfile
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandbox._container import WORK_DIR, Container, ReadOnlyMount, make_readable
from sandbox._engine import engine_client
from sandbox._errors import (
    AgentError,
    CallTimeout,
    CandidateError,
    EngineFailed,
    Frame,
    SandboxError,
    SessionClosed,
)
from sandbox._framing import MessageLines
from sandbox._limits import Limits
from sandbox._result import Outcome, RunResult
from sandbox.agent import agent
from sandbox.agent.agent import MAX_FRAMES, MAX_REQUEST_BYTES

AGENT_COMMAND = ("python3", "/opt/grader/agent/agent.py", "/submission")
AGENT_SOURCE = Path(agent.__file__).resolve()
SUBMISSION_DIR = "/submission"
# The runner image's heavy packages (Dockerfile.runner, runner.lock): what a warm session may
# import ahead when the submission's source imports them.
RUNNER_MODULES = ("numpy", "scipy", "pandas", "sklearn", "torch", "transformers",
                  "sentence_transformers")
# How long a pre-started session may wait for open() before it is removed as the grader's
# failure (it is stuck, or forgotten): longer than any phase it could be waiting behind.
PRESTART_WAIT_SECONDS = 3600.0
# How long sending the pre-import request may take (it is one short line into a fresh agent).
PRESTART_SEND_SECONDS = 30.0
# The pre-import request's number, outside the calls' (which count from 1, __ready__'s).
PRELOAD_CALL_ID = 0
# The agent's own caps, so both ends of the channel agree: a message's bytes (either direction)
# and the frames of a candidate's error.
DEFAULT_MAX_MESSAGE_BYTES = MAX_REQUEST_BYTES


def parse_message(line: bytes) -> dict[str, Any]:
    """Strict JSON: one object, no NaN or Infinity literals, no duplicate keys. Numbers are
    what JSON reads (``1e400`` reads as infinity, ``10**400`` in digits as an int no float holds):
    whoever uses a value checks its range."""

    def no_constants(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(set(keys)) != len(keys):
            raise ValueError("duplicate keys")
        return dict(pairs)

    try:
        message = json.loads(line, parse_constant=no_constants, object_pairs_hook=no_duplicates)
    except (ValueError, RecursionError) as exc:
        raise AgentError(f"the agent sent a malformed message: {exc}") from exc
    if not isinstance(message, dict) or not ({"id", "result"} == message.keys()
                                             or {"id", "error"} == message.keys()):
        raise AgentError("the agent sent a message that is not a reply")
    return message


def parse_frames(value: Any) -> tuple[Frame, ...]:
    """An error's frames as the agent sent them, kept only where each is well formed: they are
    an explanation for the candidate, never a reason to fail the call differently."""
    if not isinstance(value, list):
        return ()
    return tuple(
        Frame(file=item["file"], line=item["line"], function=item["function"])
        for item in value[-MAX_FRAMES:]
        if isinstance(item, dict) and item.keys() == {"file", "line", "function"}
        and isinstance(item["file"], str) and isinstance(item["function"], str)
        and type(item["line"]) is int)


class AgentSession:
    """Calls into the candidate's ``solution`` module, timed on this side of the boundary."""

    def __init__(self, container: Container, messages: MessageLines, *,
                 call_timeout: float) -> None:
        self._container = container
        self._messages = messages
        self._call_timeout = call_timeout
        self._next_id = 0
        self.callables: list[str] = []
        self.last_call_seconds: float | None = None
        self.result: RunResult | None = None

    def call(self, method: str, /, *, timeout: float | None = None, **params: Any) -> Any:
        """Call a public function of solution.py with keyword arguments; return its JSON result."""
        if method.startswith("_"):
            raise ValueError(f"{method!r} is not a public function name")
        return self._call(method, params, timeout)

    def _call(self, method: str, params: Mapping[str, Any], timeout: float | None) -> Any:
        limit = timeout or self._call_timeout
        deadline = time.monotonic() + limit
        call_id = self._send(method, params, deadline, limit)
        return self._answer(method, call_id, self._next_line(method, deadline, limit),
                            deadline - limit)

    def _send(self, method: str, params: Mapping[str, Any], deadline: float, limit: float,
              call_id: int | None = None) -> int:
        """Send a request, numbered ``call_id`` or else the next call's number; return it."""
        if self.result is not None:
            raise self._ended(f"the session already ended before {method}")
        if call_id is None:
            self._next_id += 1
            call_id = self._next_id
        request = json.dumps({"id": call_id, "method": method, "params": params},
                             allow_nan=False)
        self.last_call_seconds = None
        try:
            # Sending is timed too: a container that stops reading its stdin blocks the request.
            self._container.send(request.encode() + b"\n",
                                 timeout=max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            raise self._timed_out(method, limit) from None
        except SandboxError as exc:  # its stdin is gone: the container ended, or is ending
            self._container.kill()
            self._end()
            raise self._ended(f"the container ended before {method}") from exc
        return call_id

    def _next_line(self, method: str, deadline: float, limit: float) -> bytes | None:
        try:
            return self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise self._timed_out(method, limit) from None

    def _timed_out(self, method: str, limit: float) -> AgentError | EngineFailed:
        self._container.kill(Outcome.TIMEOUT)
        if self._end().outcome is Outcome.INFRASTRUCTURE_ERROR:
            return self._ended(f"{method} did not answer")
        return CallTimeout(f"{method} did not answer within {limit:g} s")

    def _answer(self, method: str, call_id: int, line: bytes | None, started: float) -> Any:
        """The result of call ``call_id`` from its reply ``line`` (None: the output ended)."""
        if line is None:
            self._end()
            raise self._ended(f"the container ended during {method}")
        self.last_call_seconds = time.monotonic() - started
        try:
            message = parse_message(line)
            if message["id"] != call_id:
                raise AgentError(f"the agent answered call {message['id']!r}, not {call_id}")
        except AgentError:
            self._container.kill()
            self._end()
            raise
        if "error" in message:
            error = message["error"] if isinstance(message["error"], dict) else {}
            raise CandidateError(str(error.get("type", "Error")), str(error.get("message", "")),
                                 str(error.get("traceback", "")), parse_frames(error.get("frames")))
        return message["result"]

    def export_dir(self, destination: Path, *, max_bytes: int, path: str = WORK_DIR) -> int:
        """Copy a directory out of the container as plain files; return the bytes received.

        The archive is the candidate's to shape, so only regular files and directories with
        relative, in-tree names are written, and the byte count is capped while reading.
        """
        self._call("__export__", {"path": path}, None)
        received = 0
        with tempfile.TemporaryFile() as archive:
            while chunk := self._call("__chunk__", {}, None):
                try:
                    data = base64.b64decode(chunk, validate=True)
                except (binascii.Error, TypeError) as exc:
                    raise AgentError("the agent sent a malformed archive chunk") from exc
                received += len(data)
                if received > max_bytes:
                    raise AgentError(f"the exported {path} is larger than {max_bytes} bytes")
                archive.write(data)
            archive.seek(0)
            extract_plain_tree(archive, destination)
        return received

    def close(self) -> RunResult:
        """End the phase: close the agent's stdin and wait for the container to exit."""
        if self.result is None:
            self._container.close_stdin()
            self._end()
        assert self.result is not None
        return self.result

    def _ended(self, what: str) -> SessionClosed | EngineFailed:
        """The error for a session that has ended: the engine's fault when its outcome says so
        (the engine stopped, restarted or lost the container), else the candidate's."""
        assert self.result is not None
        message = f"{what}: {self.result.message}"
        if self.result.outcome is Outcome.INFRASTRUCTURE_ERROR:
            return EngineFailed(message, result=self.result)
        return SessionClosed(message, outcome=self.result.outcome)

    def _end(self) -> RunResult:
        if self.result is None:
            # The cgroup goes with the container: read it while it may still be there.
            self._container.sample_usage()
            self.result = self._container.wait()
        return self.result


def extract_plain_tree(archive: Any, destination: Path) -> None:
    destination.mkdir(parents=True, exist_ok=True)
    try:
        with tarfile.open(fileobj=archive, mode="r:") as tar:
            members = tar.getmembers()
            for member in members:
                # A sparse member extracts to its declared size from a few bytes of archive (1 TiB
                # from 10 KiB), past max_bytes; the agent's tarfile never writes one, so refuse it.
                if not (member.isfile() or member.isdir()) or member.issparse():
                    raise AgentError(f"{member.name!r} in the work dir is not a plain file")
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise AgentError(f"the exported archive could not be read safely: {exc}") from exc
    # The next phase's non-root user reads these through a read-only mount.
    make_readable(destination)


class PendingSession:
    """A session's container, started, its agent pre-importing; its phase begins at ``open()``.

    Made by ``start_session``; used once. Leaving its ``with`` block removes the container,
    opened or not.
    """

    def __init__(self, container: Container, messages: MessageLines, *, call_timeout: float,
                 preload: tuple[str, ...]) -> None:
        self._container = container
        self._messages = messages
        self._session = AgentSession(container, messages, call_timeout=call_timeout)
        self._preload_id: int | None = None
        self._warm_line: bytes | None = None
        self._warm_read = False
        self._opened = False
        if preload:
            try:
                self._preload_id = self._session._send(
                    "__preload__", {"modules": list(preload)},
                    time.monotonic() + PRESTART_SEND_SECONDS, PRESTART_SEND_SECONDS,
                    call_id=PRELOAD_CALL_ID)
            except AgentError as exc:  # nothing of the candidate's has run: the grader's failure
                raise SandboxError(f"the agent could not be asked to pre-import: {exc}") from exc

    def wait_warm(self, timeout: float) -> list[str] | None:
        """Wait, outside the phase's clock, for the agent to finish pre-importing; return the
        modules it imported, or None when the container ended meanwhile: ``open()`` then
        raises for it as a cold session would (running out of memory importing what their code
        imports is the candidate's outcome). TimeoutError if it takes longer than ``timeout``
        (the session is left as it is); SandboxError if the agent failed."""
        if self._preload_id is None:
            return []
        if not self._warm_read:
            try:
                self._warm_line = self._messages.get(timeout=timeout)
            except queue.Empty:
                raise TimeoutError(f"the agent was still pre-importing after {timeout:g} s") \
                    from None
            self._warm_read = True
        if self._warm_line is None:
            return None
        try:
            result = parse_message(self._warm_line).get("result")
        except AgentError as exc:
            raise SandboxError(f"the agent's pre-import reply is malformed: {exc}") from exc
        imported = result.get("imported") if isinstance(result, dict) else None
        if not (isinstance(imported, list) and all(isinstance(n, str) for n in imported)):
            raise SandboxError("the agent failed to pre-import")
        return imported

    @contextmanager
    def open(self) -> Iterator[AgentSession]:
        """Begin the phase: start its clock, import ``solution``, and yield the session.

        Raises CandidateError when solution.py does not import, and EngineFailed (the grader's
        side) whenever the session's outcome is ``infrastructure_error``, even after its last
        call. A pre-import still running counts against the phase's time, as the candidate's own
        import would.
        """
        if self._opened:
            raise RuntimeError("a pending session opens once")
        self._opened = True
        session, container, limits = self._session, self._container, self._container.limits
        container.start_clock()
        started = time.monotonic()
        deadline = started + limits.timeout
        try:
            if self._preload_id is not None:
                line = (self._warm_line if self._warm_read
                        else session._next_line("__preload__", deadline, limits.timeout))
                try:
                    session._answer("__preload__", self._preload_id, line, started)
                except SessionClosed:  # it ended while importing (out of memory): as it would cold
                    raise
                except AgentError as exc:  # the agent's own failure: no candidate code has run
                    raise SandboxError(f"the agent could not pre-import: {exc}") from exc
            # Importing the solution may import torch: bounded by the phase, not by one call's time.
            ready = session._call("__ready__", {}, max(1e-3, deadline - time.monotonic()))
            session.callables = list(ready.get("callables", [])) if isinstance(ready, dict) else []
            yield session
        except BaseException as exc:
            if isinstance(exc, CandidateError):
                session.close()  # the candidate's code raised; the container itself is healthy
            elif session.result is None:
                container.sample_usage()
                container.kill()
                session._end()
            if isinstance(exc, (AgentError, SandboxError)):
                exc.result = session.result
            raise
        if session.close().outcome is Outcome.INFRASTRUCTURE_ERROR:
            raise session._ended("the session's end")


class SessionSpec(BaseModel):
    """What one session is: its container, what it sees, and how its calls are bounded.

    Everything a session sees must be final when it starts: ``submission``, ``mounts`` and
    ``work`` are mounted as they are then.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    image: str = Field(description="the image the container runs (the runner's, or one "
                                   "derived from it)")
    limits: Limits = Field(description="what the container may use; its timeout is the "
                                       "phase's wall clock, from ``open()``")
    submission: Path = Field(description="the candidate's files, mounted read-only at "
                                         "/submission")
    mounts: tuple[ReadOnlyMount, ...] = Field((), description="further read-only folders "
                                                              "(the data at /data)")
    env: Mapping[str, str] | None = Field(None, description="variables added to the "
                                                            "candidate's environment")
    work: Path | None = Field(None, description="a finished build's work dir, mounted "
                                                "read-only at /work for a serve phase; without "
                                                "it /work is an empty size-limited tmpfs")
    call_timeout: float = Field(60.0, gt=0, description="seconds a call may take when it "
                                                        "names no timeout of its own")
    max_message_bytes: int = Field(DEFAULT_MAX_MESSAGE_BYTES, gt=0,
                                   description="the largest message, either way, over the "
                                               "agent channel")
    preload: tuple[str, ...] = Field(
        RUNNER_MODULES, description="the top-level packages whose modules the agent may import "
                                    "ahead, when the submission's source imports them; () is a "
                                    "cold session")

    @field_validator("preload", mode="before")
    @classmethod
    def _top_level_modules(cls, value: Any) -> tuple[str, ...]:
        return checked_modules(value)


@contextmanager
def start_session(spec: SessionSpec) -> Iterator[PendingSession]:
    """Start a session's container ahead of its phase; ``open()`` the result to begin it.

    Raises SandboxError when the container cannot be started.
    """
    with _started(spec, wait_seconds=PRESTART_WAIT_SECONDS) as pending:
        yield pending


@contextmanager
def open_session(spec: SessionSpec) -> Iterator[AgentSession]:
    """``start_session`` and ``open()`` at once: a session whose phase begins now (see both).

    The container is removed on exit.
    """
    with _started(spec, wait_seconds=0.0) as pending, pending.open() as session:
        yield session


@contextmanager
def _started(spec: SessionSpec, *, wait_seconds: float) -> Iterator[PendingSession]:
    mounts = [ReadOnlyMount(AGENT_SOURCE, AGENT_COMMAND[1]),
              ReadOnlyMount(spec.submission, SUBMISSION_DIR), *spec.mounts]
    messages = MessageLines(spec.max_message_bytes)
    with Container(client=engine_client(), image=spec.image, command=AGENT_COMMAND,
                   limits=spec.limits, mounts=mounts, env=spec.env, messages=messages,
                   work=spec.work, working_dir=SUBMISSION_DIR,
                   wait_seconds=wait_seconds) as container:
        yield PendingSession(container, messages, call_timeout=spec.call_timeout,
                             preload=spec.preload)


def checked_modules(names: object) -> tuple[str, ...]:
    """``names`` as top-level module names; ValueError naming the first that is not one."""
    if isinstance(names, str):
        raise ValueError(f"preload takes a list of module names, not the string {names!r}")
    if not isinstance(names, Sequence):
        raise ValueError(f"preload takes a list of module names, not {names!r}")
    for name in names:
        if not (isinstance(name, str) and name.isidentifier()):
            raise ValueError(f"{name!r} is not a top-level module name (like 'torch'); "
                             "preload names packages, not their submodules")
    return tuple(names)
