"""Whose fault it is: the candidate's outcomes and the grader's own errors, as two trees.

The candidate's side ends as a graded report, never a retry. What their code or their container
did reaches trusted code as one of:

    sandbox.AgentError                 their process or container (sandbox/_errors.py)
    ├── CallTimeout                    one call ran past its own timeout
    ├── CandidateError                 their code raised (type, message, traceback, frames)
    └── SessionClosed                  the container ended: an exit, out of memory, the phase's time
    grader.candidate.CandidateFailure  an AssertionError, so a hidden test that meets it fails
    ├── CandidateCallFailed            a call into their code failed (its cause: an AgentError)
    └── InvalidResult                  an answer of the wrong shape
    AssertionError                     hidden code's verdict on their answers (outside the grader's
                                       own packages: ``grader.candidate.blames_candidate``)

and is recorded as values on the report: a failed test's or a stopped metric's reason (reviewers),
and, when their code itself failed (it raised, timed out, ran out of memory, ended, or answered
what cannot be used), one ``CodeFailure`` (``Report.failure``): the state "your code failed",
explained to the candidate (``explain``), as opposed to a graded but weak result.

The grader's side is never a candidate's zero; the worker retries it, then marks the job errored
for operators:

    InfrastructureError                raised by the pipeline, from any of:
        sandbox.SandboxError           the engine or the image (EngineUnavailable, EngineFailed,
                                       ImageError)
        grader.hidden.HarnessError     the assignment's hidden tests or harness broke
        any other exception that trusted code raised (an author's KeyError, a missing file)

``InfrastructureError`` is a ``BaseException``, as ``asyncio.CancelledError`` is: it may be raised
inside an author's hidden code (a probe build that the engine lost), and an ``except Exception``
there must not turn it into a verdict on the candidate. It still passes through pytest as a failed
test, which ``run_suite`` reports as a ``HarnessError`` caused by it, and the pipeline raises the
cause again.
"""

from __future__ import annotations

import builtins
import re
import tempfile
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import sandbox
from grader.candidate import CandidateCallFailed, CandidateFailure, InvalidResult

__all__ = ["CodeFailure", "CodeFrame", "FailureKind", "InfrastructureError", "Scrubber",
           "explain", "frames_in"]

MESSAGE_CHARS = 500
STDERR_LINES = 20
STDERR_LINE_CHARS = 300
MAX_FRAMES = 10
# The agent's own files inside the container: grader internals, never the candidate's.
_AGENT_PATH = re.compile(r"/opt/grader/[\w./-]*")
_DEFINED = re.compile(r"^\s*(?:async\s+)?(?:def|class)\s+([A-Za-z_]\w*)", re.MULTILINE)
_TRACEBACK_LINE = re.compile(r'^\s*File "([^"]+)", line (\d+), in (\S+)\s*$', re.MULTILINE)
_TEMP_PREFIXES = ("probe", "work", "submission", "grading", "preflight", "hidden-suite",
                  "anchors", "baseline")
_NESTED_NAMES = {"<module>", "<lambda>", "<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"}


class InfrastructureError(BaseException):
    """Grading could not run for a reason that is not the candidate's (engine, image, an
    assignment's broken hidden code). A ``BaseException``: see the module docstring."""


class FailureKind(StrEnum):
    EXCEPTION = "exception"          # their code raised
    TIMEOUT = "timeout"              # a call or the phase ran past its time limit
    OUT_OF_MEMORY = "out_of_memory"  # the container ran out of memory
    ENDED = "ended"                  # the process ended otherwise: an exit, a signal, too much
                                     # output, too many processes
    INVALID = "invalid"              # an answer of the wrong shape, or a broken agent channel


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CodeFrame(_Model):
    file: str = Field(description="a file of the submission, relative to its root")
    line: int
    function: str


class CodeFailure(_Model):
    """The candidate's code failed: what happened, where in their own files, and their output.

    Scrubbed of anything hidden (``Scrubber``). In a phase that sees hidden inputs (serve, or a
    build on other data) nothing the candidate's process chose freely is shown, since it could
    carry those inputs out: no exception message and no output, an exception type only when it
    is a builtin's or a class their files define, and only the innermost frame (frames are
    always at lines and functions of files in the submission).
    """

    kind: FailureKind
    phase: Literal["build", "serve"] = Field(
        description="build: the build call on the public data, or another build a hidden test "
                    "asked for; serve: the serve phase's calls")
    summary: str = Field(description="one sentence for the candidate: what failed, where")
    exception_type: str | None = None
    exception_message: str | None = Field(
        None, description="shown for the build on the public data only")
    frames: list[CodeFrame] = Field(
        default_factory=list, description="the traceback's frames in the submission's own "
                                          "files, innermost last")
    stderr_tail: list[str] = Field(
        default_factory=list, description="the last lines the build printed (stdout and "
                                          "stderr); the build on the public data only")
    check_hint: str | None = Field(
        None, description="how to reproduce this before uploading again (the bundle's check.py)")


@dataclass(frozen=True)
class Scrubber:
    """Replaces what a candidate must not read in text that leaves the grader: host paths (the
    assignment's folder, the instance's data, the grader's own code, temporary folders) and the
    names of hidden tests and hidden files."""

    paths: tuple[tuple[str, str], ...]
    hidden_names: frozenset[str]
    # The grader's own temporary folders on the host (a probe's data, a grading's work dir); the
    # container's /tmp is the candidate's and stays as it is.
    host_temp: re.Pattern[str] = field(default_factory=lambda: re.compile(
        re.escape(tempfile.gettempdir().rstrip("/")) + r"/(?:" + "|".join(_TEMP_PREFIXES)
        + r")-[\w.-]*"))

    @classmethod
    def for_grading(cls, *, folder: Path, public_data: Path | None) -> Scrubber:
        import grader
        paths = [(str(folder.resolve() / "hidden"), "<hidden>"),
                 (str(folder.resolve()), "<assignment>"),
                 (str(folder / "hidden"), "<hidden>"), (str(folder), "<assignment>"),
                 (str(Path(grader.__file__).resolve().parent), "<grader>"),
                 (str(Path(sandbox.__file__).resolve().parent), "<grader>")]
        if public_data is not None:
            # The instance's folder names its id: its data is /data, as the candidate knows it.
            paths += [(str(public_data.resolve()), "/data"),
                      (str(public_data.resolve().parent), "<instance>")]
        names: set[str] = set()
        hidden = folder / "hidden"
        # Hidden tests' names (their files and functions). Other hidden modules' names are words
        # ("answers", "retrieval") a candidate's message may use for its own; they never reach a
        # container, and their paths are replaced above.
        for path in hidden.rglob("*.py") if hidden.is_dir() else ():
            if path.stem.startswith("test"):
                names.add(path.stem)
            names.update(re.findall(r"^\s*def\s+(test_\w+)", path.read_text(errors="replace"),
                                    re.MULTILINE))
        # Longest first, so a folder is replaced before its parent.
        ordered = sorted({p for p in paths if p[0] not in ("", "/")}, key=lambda p: -len(p[0]))
        return cls(paths=tuple(ordered), hidden_names=frozenset(n for n in names if len(n) > 3))

    def text(self, value: str) -> str:
        for path, replacement in self.paths:
            value = value.replace(path, replacement)
        value = _AGENT_PATH.sub("<grader>", value)
        value = self.host_temp.sub("<tmp>", value)
        if self.hidden_names:
            pattern = r"\b(" + "|".join(map(re.escape, sorted(self.hidden_names))) + r")\b"
            value = re.sub(pattern, "<hidden>", value)
        return value


def explain(failure: BaseException | None, result: sandbox.RunResult | None, *,
            phase: Literal["build", "serve"], public: bool, where: str, limits: sandbox.Limits,
            submission_dir: Path, scrubber: Scrubber, check_hint: str | None) -> CodeFailure | None:
    """The candidate's failure in one phase, explained, or None when their code did not fail
    there (it ran to its end; a hidden assertion about its answers is a weak result, not a
    failure). ``failure`` is what ended the phase early, ``result`` the container's run result;
    ``public``: the phase saw only the public data, so the candidate's own words may be shown;
    ``where``: "in train()", "while importing solution.py", ...
    """
    cause = failure
    if isinstance(failure, CandidateCallFailed) and failure.__cause__ is not None:
        cause = failure.__cause__
    outcome = result.outcome if result is not None else None
    kind = _kind(cause, outcome)
    if kind is None:
        return None
    error = cause if isinstance(cause, sandbox.CandidateError) else None
    type_name = _type_name(error.type_name, submission_dir, public) if error else None
    # The chain of lines a traceback passes through is the process's choice as much as its
    # message: ten frames could carry hundreds of bits of hidden input, the innermost alone
    # about what the type name does.
    frames = _frames(error.frames if error else (), submission_dir)
    summary = {
        FailureKind.EXCEPTION: f"Your code raised {type_name or 'an exception'} {where}.",
        FailureKind.TIMEOUT: f"Your code ran past its time limit {where} and was stopped "
                             f"(the {phase} phase has {limits.timeout:g} s).",
        FailureKind.OUT_OF_MEMORY: f"Your code ran out of memory {where} and was stopped "
                                   f"(the {phase} phase has {limits.memory / 1024**2:g} MiB).",
        FailureKind.ENDED: f"Your code's process ended {where} before answering"
                           + (f": it {result.message}." if result is not None
                              and outcome is not sandbox.Outcome.OK else "."),
        FailureKind.INVALID: f"Your code's answer could not be used {where}"
                             + (f": {_capped(scrubber.text(str(cause)))}" if public else "")
                             + ".",
    }[kind]
    return CodeFailure(
        kind=kind, phase=phase, summary=summary, exception_type=type_name,
        exception_message=_capped(scrubber.text(error.message)) if error and public else None,
        frames=frames if public else frames[-1:],
        stderr_tail=_tail(result.stderr.text, scrubber) if public and result else [],
        check_hint=check_hint)


def _kind(cause: BaseException | None, outcome: sandbox.Outcome | None) -> FailureKind | None:
    if isinstance(cause, sandbox.CallTimeout) or outcome is sandbox.Outcome.TIMEOUT:
        return FailureKind.TIMEOUT
    if outcome is sandbox.Outcome.OOM:
        return FailureKind.OUT_OF_MEMORY
    if isinstance(cause, sandbox.CandidateError):
        return FailureKind.EXCEPTION
    # An answer that came back and was judged: their process was alive to give it. The sandbox
    # kills a container whose session is left on an exception, so its end ("killed") is the
    # grader's doing here and says nothing of their code.
    if isinstance(cause, InvalidResult):
        return FailureKind.INVALID
    if isinstance(cause, AssertionError) and not isinstance(cause, CandidateFailure):
        return None  # hidden code's verdict on an answer: a weak result
    ended = outcome is not None and outcome not in (sandbox.Outcome.OK,
                                                    sandbox.Outcome.INFRASTRUCTURE_ERROR)
    if isinstance(cause, sandbox.SessionClosed) or ended:
        return FailureKind.ENDED
    if isinstance(cause, sandbox.AgentError):
        return FailureKind.INVALID
    return None


def _capped(text: str) -> str:
    return text if len(text) <= MESSAGE_CHARS else text[:MESSAGE_CHARS - 1] + "…"


def _tail(text: str, scrubber: Scrubber) -> list[str]:
    lines = [line for line in text.splitlines() if line.strip()][-STDERR_LINES:]
    return [scrubber.text(line)[:STDERR_LINE_CHARS] for line in lines]


def _submission_file(submission_dir: Path, name: str) -> Path | None:
    root = submission_dir.resolve()
    path = (root / name).resolve()
    return path if path.is_relative_to(root) and path.is_file() else None


def _frames(frames: tuple[sandbox.Frame, ...], submission_dir: Path) -> list[CodeFrame]:
    """Only frames that point at a line and a function of a file the submission holds: the
    agent reports them from the candidate's process, which could name anything."""
    kept = []
    for frame in frames[-MAX_FRAMES:]:
        path = _submission_file(submission_dir, frame.file)
        if path is None:
            continue
        source = path.read_text(errors="replace")
        defined = set(_DEFINED.findall(source)) | _NESTED_NAMES
        if 1 <= frame.line <= source.count("\n") + 1 and frame.function in defined:
            kept.append(CodeFrame(file=frame.file, line=frame.line, function=frame.function))
    return kept


def frames_in(output: str, submission_dir: Path, *, root: str) -> list[CodeFrame]:
    """The frames in the submission's files of the last traceback a command printed (Python's
    own format), where ``submission_dir`` is mounted at ``root``: checked as ``explain``'s are."""
    prefix = root.rstrip("/") + "/"
    last = output.rfind("Traceback (most recent call last):")
    found = [sandbox.Frame(file.removeprefix(prefix), int(line), function)
             for file, line, function in _TRACEBACK_LINE.findall(output[max(last, 0):])
             if file.startswith(prefix)]
    return _frames(tuple(found), submission_dir)


def _type_name(name: str, submission_dir: Path, public: bool) -> str | None:
    """The exception's type; where hidden inputs were in reach, only a builtin's name or a class
    the submission's files define (a type made at run time could be named after an input)."""
    if public:
        return _capped(name)
    builtin = getattr(builtins, name, None)
    if isinstance(builtin, type) and issubclass(builtin, BaseException):
        return name
    for path in submission_dir.resolve().rglob("*.py"):
        if name in _DEFINED.findall(path.read_text(errors="replace")):
            return name
    return None
