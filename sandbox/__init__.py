"""Running untrusted code: hardened containers, their limits and results, and the agent channel.

This package knows nothing of assignments or scores. It runs a command (or the agent over a
submission) in a fresh container under ``Limits`` and reports what happened.
"""

from sandbox._container import LABEL, WORK_DIR, ReadOnlyMount, make_readable
from sandbox._engine import engine_client
from sandbox._errors import (
    AgentError,
    CallTimeout,
    CandidateError,
    EngineFailed,
    EngineUnavailable,
    Frame,
    ImageError,
    SandboxError,
    SessionClosed,
)
from sandbox._image import (
    DEFAULT_BASE_IMAGE,
    DEFAULT_DEBIAN_MIRROR,
    BuiltImage,
    build_runner_image,
    image_digest,
)
from sandbox._limits import Limits, format_size, parse_size
from sandbox._reap import reap_orphans
from sandbox._result import CapturedOutput, Outcome, RunResult
from sandbox._run import run_command
from sandbox._session import AgentSession, open_session

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "DEFAULT_DEBIAN_MIRROR",
    "LABEL",
    "WORK_DIR",
    "AgentError",
    "AgentSession",
    "BuiltImage",
    "CallTimeout",
    "CandidateError",
    "CapturedOutput",
    "EngineFailed",
    "EngineUnavailable",
    "Frame",
    "ImageError",
    "Limits",
    "Outcome",
    "ReadOnlyMount",
    "RunResult",
    "SandboxError",
    "SessionClosed",
    "build_runner_image",
    "engine_client",
    "format_size",
    "image_digest",
    "make_readable",
    "open_session",
    "parse_size",
    "reap_orphans",
    "run_command",
]
