"""The free pre-flight check: a candidate's zip run against the contract on the public data, before
they spend an attempt. It never creates a submission, so it never counts against the allowance.

What it runs, in the same hardened containers as a grading, against the public data only:

1. the build call with the assignment's arguments, its work dir exported under its size limit;
2. a fresh serve container over that work dir (read-only): import, then the serve ``load`` call;
3. the starter bundle's own ``check.py`` when it ships one, over the submission's files (its
   ``data/`` is the public data), which calls the query entry points the way the README shows.

Before them, without running anything, the submission's imports and ``requirements.txt`` are
compared with what the environment's image provides (``grader.environment_fit``), so an import the
environment lacks is named even when the failure it causes comes in a phase that shows no message.

Each phase keeps its own limits, but the time of all three together is capped at
``PreflightRules.budget_seconds`` (about 30 s), so the answer comes in the same request. A phase
stopped by that budget, where the graded phase would have had longer, is "inconclusive", not a
failure. A failure is explained as a grading's is (``grader.outcomes.CodeFailure``), and since only
public data is in reach, with the candidate's own message and output.

Why a synchronous path in the web process, bounded by a semaphore, and not a job kind in the
queue: it runs no hidden code (no pytest suite, no harness), so there is no process-wide state to
keep apart in a grading child; the candidate's code runs only in the sandbox, as in a grading; the
answer must come within about 30 s, which a queue behind gradings of up to two hours cannot
promise; and it writes nothing to the store. ``PreflightGate`` bounds how many run at once on the
host (``PreflightRules.concurrency``) and how many one invite may start per hour
(``PreflightRules.per_hour``); its counts live in the web process (a restart forgives them, which
costs only compute).

Exceptions (both the candidate's to read; the web layer answers them as Problems):

    PreflightLimited      this invite started its hourly number of checks (429)
    PreflightUnavailable  every slot is busy, or the sandbox could not run the check (503)
"""

from __future__ import annotations

import re
import shutil
import tempfile
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

import sandbox
from grader.environment_fit import EnvironmentFit, EnvironmentUnreadable, fit, provided_by
from grader.environments import environment_image
from grader.instance import AssignmentInstance
from grader.intake import IntakeRules, extract_submission
from grader.outcomes import CodeFailure, CodeFrame, FailureKind, Scrubber, explain, frames_in
from grader.pipeline import CHECK_SCRIPT, PUBLIC_DATA_DIR
from grader.settings import PreflightRules
from grader.spec import Assignment

__all__ = ["PreflightCheck", "PreflightGate", "PreflightLimited", "PreflightResult",
           "PreflightUnavailable", "run_preflight"]

HOUR = 3600.0
OUTPUT_LINES = 20


class PreflightLimited(Exception):
    """This invite has started its hourly number of pre-flight checks."""


class PreflightUnavailable(Exception):
    """The pre-flight check cannot run now (every slot busy, or the sandbox failed)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PreflightCheck(_Model):
    name: Literal["build", "serve", "check.py"]
    outcome: Literal["passed", "failed", "inconclusive", "skipped"]
    detail: str = Field(description="one sentence: what ran and how it ended")
    output: list[str] = Field(default_factory=list,
                              description="check.py's last lines (stdout and stderr)")
    frames: list[CodeFrame] = Field(default_factory=list,
                                    description="check.py's traceback frames in your files")


class PreflightResult(_Model):
    """What the pre-flight found; nothing of it is stored or counted as a submission."""

    status: Literal["passed", "failed", "inconclusive"] = Field(
        description="passed: every step ran; failed: your code failed (see failure and checks); "
                    "inconclusive: a step needed longer than the check's time budget, which the "
                    "graded run would have given it")
    message: str
    failure: CodeFailure | None = Field(
        None, description="the build's or serve's failure, explained as a grading would")
    checks: list[PreflightCheck]
    environment: EnvironmentFit = Field(
        description="your imports and requirements.txt against what the environment provides")
    wall_seconds: float


class PreflightGate:
    """How many checks run at once on this host, and how many each invite may start per hour."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._started: dict[int, deque[float]] = defaultdict(deque)
        self._slots: threading.BoundedSemaphore | None = None

    @contextmanager
    def admit(self, invite_id: int, rules: PreflightRules) -> Iterator[None]:
        """Hold a slot for one check of ``invite_id``; a refusal counts nothing."""
        with self._lock:
            now = self._clock()
            started = self._started[invite_id]
            while started and started[0] <= now - HOUR:
                started.popleft()
            if len(started) >= rules.per_hour:
                minutes = max(1, round((started[0] + HOUR - now) / 60))
                raise PreflightLimited(
                    f"This invite has run its {rules.per_hour} pre-flight checks for this hour; "
                    f"the next one is possible in about {minutes} minute(s).")
            if self._slots is None:
                self._slots = threading.BoundedSemaphore(rules.concurrency)
            slots = self._slots
        if not slots.acquire(timeout=rules.budget_seconds):
            raise PreflightUnavailable("Every pre-flight check slot is busy; try again in a "
                                       "minute.")
        try:
            with self._lock:
                self._started[invite_id].append(self._clock())
            yield
        finally:
            slots.release()


def run_preflight(*, assignment: Assignment, folder: Path, instance: AssignmentInstance,
                  zip_path: Path, runner_image: str, ceiling: sandbox.Limits,
                  intake: IntakeRules, rules: PreflightRules,
                  preload: Sequence[str] = sandbox.RUNNER_MODULES) -> PreflightResult:
    """Check ``zip_path`` as an upload would be (an ``IntakeError`` refuses it), then run it
    against the contract on the public data within ``rules.budget_seconds``. ``preload``: what
    its sessions may import ahead, as a grading's (``grader.environment_fit.session_preload``)."""
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="preflight-") as tmp:
        files = Path(tmp) / "files"
        extract_submission(zip_path, files, rules=intake,
                           required_files=assignment.candidate.required_files)
        try:  # the assignment's environment, as its gradings run it (built on first use)
            runner_image = environment_image(assignment, folder, runner_image=runner_image)
            environment = fit(files, provided_by(runner_image))
        except (sandbox.SandboxError, OSError, EnvironmentUnreadable) as exc:
            raise PreflightUnavailable("The pre-flight check could not run because of a problem "
                                       "on our side; try again later.") from exc
        run = _Run(assignment, folder, instance, files, runner_image, ceiling,
                   deadline=started + rules.budget_seconds, preload=tuple(preload))
        checks = run.build(Path(tmp) / "work")
        if checks[-1].outcome == "passed":
            checks.append(run.serve(Path(tmp) / "work"))
        if checks[-1].outcome == "passed":
            checks.append(run.check_script(Path(tmp) / "checked"))
    return _result(checks, run.failure, environment, time.monotonic() - started, rules)


def _result(checks: list[PreflightCheck], failure: CodeFailure | None,
            environment: EnvironmentFit, seconds: float, rules: PreflightRules
            ) -> PreflightResult:
    outcomes = {c.outcome for c in checks}
    if "failed" in outcomes:
        status, message = "failed", ("Your code failed the pre-flight check: "
                                     + next(c.detail for c in checks if c.outcome == "failed"))
    elif "inconclusive" in outcomes:
        status, message = "inconclusive", (
            f"A step needed more than the pre-flight's {rules.budget_seconds:g} s, which the "
            "graded run would give it: this is not a failure, but nothing after it was checked.")
    else:
        status, message = "passed", ("Your code builds, loads and passes the bundle's own checks "
                                     "on the public data. The graded run uses hidden data.")
    if environment.missing_imports or environment.requirements:
        message += " " + environment.message
    return PreflightResult(status=status, message=message, failure=failure, checks=checks,
                           environment=environment, wall_seconds=round(seconds, 2))


class _Run:
    def __init__(self, assignment: Assignment, folder: Path, instance: AssignmentInstance,
                 files: Path, runner_image: str, ceiling: sandbox.Limits, *,
                 deadline: float, preload: tuple[str, ...]) -> None:
        self.assignment, self.folder, self.files = assignment, folder, files
        self.public_data = instance.public_data
        self.image, self.deadline, self.preload = runner_image, deadline, preload
        self.build_limits = assignment.phases.build.limits_within(ceiling)
        self.serve_limits = assignment.phases.serve.limits_within(ceiling)
        self.scrubber = Scrubber.for_grading(folder=folder, public_data=self.public_data)
        self.failure: CodeFailure | None = None

    def _within_budget(self, limits: sandbox.Limits) -> sandbox.Limits:
        left = max(1.0, self.deadline - time.monotonic())
        return limits.model_copy(update={"timeout": min(limits.timeout, left)})

    def _mounts(self) -> list[sandbox.ReadOnlyMount]:
        return ([] if self.public_data is None
                else [sandbox.ReadOnlyMount(self.public_data, PUBLIC_DATA_DIR)])

    def build(self, work: Path) -> list[PreflightCheck]:
        build = self.assignment.phases.build
        limits = self._within_budget(self.build_limits)
        return [self._phase("build", f"in {build.call}()", limits, self.build_limits,
                            lambda session: (
                                session.call(build.call, timeout=limits.timeout,
                                             **build.arguments),
                                session.export_dir(work, max_bytes=limits.work_size)),
                            work=None)]

    def serve(self, work: Path) -> PreflightCheck:
        serve = self.assignment.phases.serve
        limits = self._within_budget(self.serve_limits)
        return self._phase("serve", f"in {serve.load}()", limits, self.serve_limits,
                           lambda session: session.call(serve.load, work_dir=sandbox.WORK_DIR,
                                                        timeout=limits.timeout),
                           work=work)

    def _phase(self, name: Literal["build", "serve"], where: str, limits: sandbox.Limits,
               graded: sandbox.Limits, body: Callable[[sandbox.AgentSession], object], *,
               work: Path | None) -> PreflightCheck:
        session: sandbox.AgentSession | None = None
        try:
            with sandbox.open_session(sandbox.SessionSpec(
                    image=self.image, limits=limits, submission=self.files, mounts=self._mounts(),
                    work=work, preload=self.preload, call_timeout=limits.timeout)) as session:
                body(session)
        except sandbox.SandboxError as exc:
            raise PreflightUnavailable("The pre-flight check could not run because of a "
                                       "problem on our side; try again later.") from exc
        except sandbox.AgentError as exc:
            self.failure = explain(
                exc, exc.result, phase=name, public=True, limits=limits,
                where=where if session is not None else "while importing solution.py",
                submission_dir=self.files, scrubber=self.scrubber, check_hint=None)
            assert self.failure is not None  # an AgentError is always the candidate's failure
            if (self.failure.kind is FailureKind.TIMEOUT and limits.timeout < graded.timeout):
                return PreflightCheck(name=name, outcome="inconclusive",
                                      detail=f"{where.removeprefix('in ')} was still running "
                                             f"when the pre-flight's time ran out")
            return PreflightCheck(name=name, outcome="failed", detail=self.failure.summary)
        return PreflightCheck(name=name, outcome="passed", detail=f"{where.removeprefix('in ')} "
                                                                  "ran to its end")

    def check_script(self, checked: Path) -> PreflightCheck:
        """The bundle's check.py over a copy of the submission, its data/ the public data."""
        script = self.folder / self.assignment.candidate.bundle / CHECK_SCRIPT
        if not script.is_file():
            return PreflightCheck(name="check.py", outcome="skipped",
                                  detail="the starter bundle ships no check.py")
        shutil.copytree(self.files, checked, symlinks=False)
        shutil.copy2(script, checked / CHECK_SCRIPT)
        sandbox.make_readable(checked)
        if not (checked / "data").exists():
            # Resolved inside the container; made after make_readable, which follows links.
            (checked / "data").symlink_to(PUBLIC_DATA_DIR)
        limits = self._within_budget(self.build_limits)
        result = sandbox.run_command(["python3", CHECK_SCRIPT], image=self.image, limits=limits,
                                     mounts=[sandbox.ReadOnlyMount(checked, "/submission"),
                                             *self._mounts()], working_dir="/submission")
        if result.outcome is sandbox.Outcome.INFRASTRUCTURE_ERROR:
            raise PreflightUnavailable("The pre-flight check could not run because of a "
                                       "problem on our side; try again later.")
        text = result.stdout.text + result.stderr.text
        output = [self.scrubber.text(line)[:300]
                  for line in [ln for ln in text.splitlines() if ln.strip()][-OUTPUT_LINES:]]
        frames = frames_in(text, checked, root="/submission")
        if result.ok and result.exit_code == 0:
            return PreflightCheck(name="check.py", outcome="passed", output=output,
                                  detail=f"python {CHECK_SCRIPT} ran to its end")
        if result.outcome is sandbox.Outcome.TIMEOUT and limits.timeout < self.build_limits.timeout:
            return PreflightCheck(name="check.py", outcome="inconclusive", output=output,
                                  detail=f"python {CHECK_SCRIPT} was still running when the "
                                         "pre-flight's time ran out")
        last = _last_exception(output)
        return PreflightCheck(name="check.py", outcome="failed", output=output, frames=frames,
                              detail=f"python {CHECK_SCRIPT} {result.message}"
                                     + (f": {last}" if last else ""))


_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b.*")


def _last_exception(lines: list[str]) -> str | None:
    found = [line for line in lines if _EXCEPTION_LINE.match(line)]
    return found[-1] if found else None
