"""Exceptions raised by the sandbox.

    SandboxError
    ├── EngineUnavailable   the Docker Engine does not answer
    ├── ImageError          the runner image is missing or could not be built
    └── AgentError          the in-container agent broke the protocol or went away
        ├── CallTimeout     one call ran past its own timeout (the container is killed)
        ├── CandidateError  the candidate's code raised; carries its type, message, traceback
        └── SessionClosed   the container ended (exit, OOM, phase timeout) before or during a call

A candidate's failure is never a bare exception from the engine: errors from the docker SDK are
translated here, at the boundary, with ``raise ... from``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sandbox._result import RunResult


class SandboxError(Exception):
    """Base class of every error the sandbox raises."""


class EngineUnavailable(SandboxError):
    """The Docker Engine did not answer."""


class ImageError(SandboxError):
    """The runner image is missing or could not be built."""


class AgentError(SandboxError):
    """The agent channel broke: a malformed, oversized or unexpected message.

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

    def __init__(self, type_name: str, message: str, traceback: str) -> None:
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = traceback
