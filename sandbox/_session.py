"""The trusted side of the agent channel: one session spans the calls of one phase."""

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
from sandbox.agent.agent import MAX_FRAMES, MAX_REQUEST_BYTES

AGENT_COMMAND = ("python3", "/opt/grader/agent/agent.py", "/submission")
SUBMISSION_DIR = "/submission"
# The agent's own caps, so both ends of the channel agree: a message's bytes (either direction)
# and the frames of a candidate's error.
DEFAULT_MAX_MESSAGE_BYTES = MAX_REQUEST_BYTES


def parse_message(line: bytes) -> dict[str, Any]:
    """Strict JSON: one object, no NaN or infinity, no duplicate keys."""

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
        if self.result is not None:
            raise self._ended(f"the session already ended before {method}")
        self._next_id += 1
        call_id = self._next_id
        request = json.dumps({"id": call_id, "method": method, "params": params}, allow_nan=False)
        self.last_call_seconds = None
        limit = timeout or self._call_timeout
        started = time.monotonic()
        try:
            # Sending is timed too: a container that stops reading its stdin blocks the request.
            self._container.send(request.encode() + b"\n", timeout=limit)
            line = self._messages.get(timeout=max(0.0, started + limit - time.monotonic()))
        except (TimeoutError, queue.Empty):
            self._container.kill(Outcome.TIMEOUT)
            if self._end().outcome is Outcome.INFRASTRUCTURE_ERROR:
                raise self._ended(f"{method} did not answer") from None
            raise CallTimeout(f"{method} did not answer within {limit:g} s") from None
        except SandboxError as exc:  # its stdin is gone: the container ended, or is ending
            self._container.kill()
            self._end()
            raise self._ended(f"the container ended before {method}") from exc
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


@contextmanager
def open_session(
    *,
    image: str,
    limits: Limits,
    submission: Path,
    mounts: Sequence[ReadOnlyMount] = (),
    env: Mapping[str, str] | None = None,
    work: Path | None = None,
    call_timeout: float = 60.0,
    max_message_bytes: int = DEFAULT_MAX_MESSAGE_BYTES,
) -> Iterator[AgentSession]:
    """Start the agent over ``submission`` (mounted read-only) and import ``solution``.

    ``work`` is a finished build's work dir, mounted read-only at /work for a serve phase; without
    it /work is an empty size-limited tmpfs. Raises CandidateError when solution.py does not
    import, and EngineFailed (the grader's side) whenever the session's outcome is
    ``infrastructure_error``, even after its last call. The container is removed on exit.
    """
    all_mounts = [ReadOnlyMount(submission, SUBMISSION_DIR), *mounts]
    messages = MessageLines(max_message_bytes)
    with Container(client=engine_client(), image=image, command=AGENT_COMMAND, limits=limits,
                   mounts=all_mounts, env=env, messages=messages, work=work,
                   working_dir=SUBMISSION_DIR) as container:
        session = AgentSession(container, messages, call_timeout=call_timeout)
        try:
            # Importing the solution may import torch: bounded by the phase, not by one call's time.
            ready = session._call("__ready__", {}, limits.timeout)
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
