"""Running untrusted code: hardened containers, their limits and results, and the agent channel.

This package knows nothing of assignments or scores. It runs a command (or the agent over a
submission) in a fresh container under ``Limits`` and reports what happened, and builds the images
it runs: the runner image, and images derived from it plus a hashed lock of extra wheels.

Sessions are warm by default: the agent imports ahead the modules of ``preload`` (default
``RUNNER_MODULES``; a caller adds what an assignment's environment installs, and passes ``()``
for a cold session) that the submission's source imports, before any of the candidate's code
runs. To hide that import entirely, start the next phase's session while the current one runs::

    spec = sandbox.SessionSpec(image=..., limits=serve_limits, submission=files, work=work,
                               mounts=mounts, preload=modules)
    with sandbox.start_session(spec) as pending:
        ...                                   # the current phase runs meanwhile
        with pending.open() as session:       # the phase's clock starts here
            session.call("load", work_dir=sandbox.WORK_DIR)

``start_session`` and ``open_session`` take the same ``SessionSpec``, a frozen value of what a
session is (each field documented there); everything a session mounts must be final when it
starts (a build's work dir exported, the data in place). Its container runs (and holds memory and
some CPU while importing) until ``open()`` ends or the ``with`` block is left, which removes it
either way; a pending session never opened costs nothing else. ``open()`` raises exactly as
``open_session`` does. ``PendingSession.wait_warm(timeout)`` waits for the pre-import, outside
the phase's clock, and returns the modules imported, or None when the container ended meanwhile
(``open()`` then raises as a cold session would: an import out of memory is the candidate's).
"""

from sandbox._container import LABEL, WORK_DIR, ReadOnlyMount, make_readable
from sandbox._derived import (
    DerivedImage,
    DerivedImageInfo,
    ResolvedWheel,
    derived_images,
    derived_tag,
    ensure_derived_image,
    remove_derived_image,
    resolve_wheels,
)
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
from sandbox._session import (
    RUNNER_MODULES,
    AgentSession,
    PendingSession,
    SessionSpec,
    open_session,
    start_session,
)

__all__ = [
    "DEFAULT_BASE_IMAGE",
    "DEFAULT_DEBIAN_MIRROR",
    "LABEL",
    "RUNNER_MODULES",
    "WORK_DIR",
    "AgentError",
    "AgentSession",
    "BuiltImage",
    "CallTimeout",
    "CandidateError",
    "CapturedOutput",
    "DerivedImage",
    "DerivedImageInfo",
    "EngineFailed",
    "EngineUnavailable",
    "Frame",
    "ImageError",
    "Limits",
    "Outcome",
    "PendingSession",
    "ReadOnlyMount",
    "ResolvedWheel",
    "RunResult",
    "SandboxError",
    "SessionClosed",
    "SessionSpec",
    "build_runner_image",
    "derived_images",
    "derived_tag",
    "engine_client",
    "ensure_derived_image",
    "format_size",
    "image_digest",
    "make_readable",
    "open_session",
    "parse_size",
    "reap_orphans",
    "remove_derived_image",
    "resolve_wheels",
    "run_command",
    "start_session",
]
