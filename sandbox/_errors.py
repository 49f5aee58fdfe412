"""Exceptions raised by the sandbox, in two trees, so that whose fault an error is never depends on
the order of ``except`` clauses.

The grader's side (the sandbox could not do its job; a grading that meets one is retried):

    SandboxError
    ├── EngineUnavailable   the Docker Engine does not answer
    ├── EngineFailed        the engine lost a running container: it stopped or restarted, someone
    │                       killed or paused the container from outside, or its end went unseen
    └── ImageError          the runner image is missing or could not be built

The candidate's side (what their code or their container did; a graded outcome):

    AgentError              the agent broke the protocol (malformed, oversized, unexpected message)
    ├── CallTimeout         one call ran past its own timeout (the container is killed)
    ├── CandidateError      the candidate's code raised; carries its type, message, traceback
    │                       and the frames in the submission's own files
    └── SessionClosed       the container ended (exit, OOM, phase timeout) before or during a call

Both trees carry ``result``, the container's run result, when the session ended with the error.
A candidate's failure is never a bare exception from the engine: errors from the docker SDK are
translated here, at the boundary, with ``raise ... from``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox._result import RunResult


@dataclass(frozen=True)
class Frame:
    """One traceback frame in the submission's own files: its path relative to the submission.

    Reported by the agent, which runs in the candidate's process: what it names is theirs to
    shape, so the trusted side checks it before showing it to anyone (``grader.outcomes``).
    """

    file: str
    line: int
    function: str


class SandboxError(Exception):
    """The grader's side: the sandbox could not run the candidate's code as asked."""

    result: RunResult | None = None


class EngineUnavailable(SandboxError):
    """The Docker Engine did not answer."""


class EngineFailed(SandboxError):
    """The engine lost a running container (its outcome is ``infrastructure_error``)."""

    def __init__(self, message: str, *, result: RunResult | None = None) -> None:
        super().__init__(message)
        self.result = result


class ImageError(SandboxError):
    """The runner image is missing or could not be built."""


class AgentError(Exception):
    """The candidate's side: the agent channel broke (a malformed, oversized or unexpected
    message), or one of the subclasses below.

    Not a ``SandboxError``: the agent runs in the candidate's process, so what it does is theirs.
    ``result`` is the container's run result when the session ended because of this error (set
    by ``open_session``), so callers can still report the phase's outcome, usage and log.
    """

    result: RunResult | None = None


class CallTimeout(AgentError):
    """A call ran past its per-call timeout; the session's container was killed."""


class SessionClosed(AgentError):
    """The container ended before the call could be answered."""

    def __init__(self, message: str, *, outcome: str | None = None) -> None:
        super().__init__(message)
        self.outcome = outcome


class CandidateError(AgentError):
    """The candidate's code raised an exception inside the container."""

    def __init__(self, type_name: str, message: str, traceback: str,
                 frames: tuple[Frame, ...] = ()) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback
        self.frames = frames
