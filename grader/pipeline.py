"""The grading flow: intake, the build phase, serve-phase sessions for hidden suites and harnesses,
scoring, and the report.

Whose fault it is (the two trees are in ``grader.outcomes``). The candidate's outcome, graded with
a reason: their code raised, a timeout, running out of memory or any other end of their container,
a wrong answer shape, and hidden tests' or harnesses' assertions about their answers
(``grader.candidate.blames_candidate``). The first phase in which their code itself failed is
explained to them on the report (``Report.failure``, made by ``grader.outcomes.explain`` where the
session ends). Everything else raises ``InfrastructureError`` (retried by the worker, then errored
for operators, never a zero): any other exception in an assignment's harness or hidden tests (the
author's bug), a phase whose sandbox outcome is ``infrastructure_error`` (the engine stopped,
restarted or lost the container), and any ``sandbox.SandboxError``.

Serve sessions. After the build, each hidden suite and harness (a *part*) gets a fresh serve
session of its own: a container, the import of solution.py, ``load()``. An assignment whose parts
hold when run after each other says ``serve.shared: true``: one session and one ``load()`` then
serve every part in the declared order, each through a ``Candidate`` of its own (its own timings).
The guarantee behaviour tests rely on, the same call gets the same answer whatever was asked before,
is checked across the parts: every answer of the shared session is kept (as a digest, by call), and
a call asked again that answers differently fails there as the candidate's (``_Answers``), so a
submission that changes its answer the second time is caught whichever part asked first. If the
shared session cannot load or ends during a part (a crash, running out of memory or time over the
parts' sum), that part and the ones after it run in sessions of their own, as without sharing: the
shared session is a saving, never a different verdict.

Side by side. Without sharing, parts run concurrently when the grading's CPU budget holds more
than one serve session (``_Budget``): the most CPUs any one phase of the grading may use, which
is what the worker pool gives a grading (``grader.worker.grading_cpus``). CPUs are taken only
for the container work (a session's start and ``load()``, each call, a probe build) and one for
trusted code, which runs one part at a time (pytest and the hidden modules' imports swap
process-wide state); a part gives its turn up while it waits on a container. Each part records
into a ledger of its own, merged in the declared order, so the report is the one a sequential run
gives. One at a time, with warm sessions (``preload``), the next part's session is started while
the current part runs (``_Ahead``): its container's start and pre-import take one CPU of the
budget, so they fill the current part's trusted code and waits rather than add to them.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any, Literal

import sandbox
from grader.anchors import PROVISIONAL_NOTE, Anchors, placing
from grader.candidate import Candidate, CandidateCallFailed, blames_candidate
from grader.environment_fit import (
    EnvironmentFit,
    EnvironmentUnreadable,
    ProvidedModules,
    fit,
    provided_by,
)
from grader.environments import environment_image
from grader.hidden import HarnessError, HiddenContext, run_harness, run_suite
from grader.instance import AssignmentInstance, folder_sha256, load_generator
from grader.intake import IntakeError, IntakeRules, extract_submission
from grader.integrity import Integrity, check_integrity
from grader.outcomes import CodeFailure, InfrastructureError, Scrubber, explain
from grader.report import (
    CANDIDATE_LOG_PHASE,
    MetricResult,
    PhaseResult,
    Report,
    ReportStatus,
    Reproduction,
    TestCaseResult,
)
from grader.scoring import score
from grader.signals import Signals, collect_signals
from grader.spec import Assignment

__all__ = ["InfrastructureError", "grade_directory", "grade_zip"]

ProgressFn = Callable[[str], None]
PUBLIC_DATA_DIR = "/data"
CHECK_SCRIPT = "check.py"


def grade_zip(*, assignment: Assignment, folder: Path, instance: AssignmentInstance,
              zip_path: Path, runner_image: str, ceiling: sandbox.Limits, intake: IntakeRules,
              progress: ProgressFn = lambda _m: None, anchors: Anchors | None = None,
              preload: Sequence[str] = sandbox.RUNNER_MODULES) -> Report:
    """Check and extract a submission zip, then grade it; a bad zip gives a rejected report."""
    with tempfile.TemporaryDirectory(prefix="submission-") as tmp:
        try:
            submission = extract_submission(zip_path, Path(tmp) / "files", rules=intake,
                                            required_files=assignment.candidate.required_files)
        except IntakeError as exc:
            return _rejected(assignment, folder, instance, runner_image, ceiling,
                             str(exc.message))
        return grade_directory(assignment=assignment, folder=folder, instance=instance,
                               submission_dir=Path(tmp) / "files",
                               submission_sha256=submission.sha256, runner_image=runner_image,
                               ceiling=ceiling, progress=progress, anchors=anchors,
                               preload=preload)


def grade_directory(*, assignment: Assignment, folder: Path, instance: AssignmentInstance,
                    submission_dir: Path, submission_sha256: str | None, runner_image: str,
                    ceiling: sandbox.Limits, progress: ProgressFn = lambda _m: None,
                    anchors: Anchors | None = None,
                    preload: Sequence[str] = sandbox.RUNNER_MODULES) -> Report:
    """Grade an extracted submission folder (its files readable by the sandbox's uid).

    ``instance`` holds the deployment's seeds for hidden data, which reach only trusted code
    (suites and harnesses), never a candidate container, and the instance's public data.
    ``anchors`` are the instance's measured baselines (``grader.anchors.anchors_for``): the
    metrics are placed on them when complete, else on the recorded ones and, for a private
    instance, the report is marked provisional. ``preload``: what each session may import
    ahead (``Settings.session_preload``); with it, each next serve session is started while the
    part before it runs (``_Ahead``); ``()`` is cold sessions, each started when needed.
    """
    try:
        # An assignment with an environment runs in that image (built on first use; a build
        # that fails is ours, with pip's output), and the report cites its digest. The build's
        # lines are not steps: those are recorded per job and shown as the grading's progress.
        runner_image = environment_image(assignment, folder, runner_image=runner_image)
        digest = sandbox.image_digest(runner_image)
    except (sandbox.SandboxError, OSError) as exc:
        raise InfrastructureError(str(exc)) from exc
    if digest is None:
        raise InfrastructureError(f"the runner image {runner_image} is missing; "
                                  "run `grader sandbox build`")
    grading = _Grading(assignment, folder, instance, submission_dir, runner_image, ceiling,
                       progress, anchors, tuple(preload))
    grading.run()
    return grading.report(digest, submission_sha256)


@dataclasses.dataclass
class _Ledger:
    """What a part of a grading recorded (or the grading's own: its build, then the parts merged),
    kept apart so that parts run side by side are merged in the declared order."""

    phases: list[PhaseResult] = dataclasses.field(default_factory=list)
    tests: list[TestCaseResult] = dataclasses.field(default_factory=list)
    metrics: dict[str, float | None] = dataclasses.field(default_factory=dict)
    failures: dict[str, str] = dataclasses.field(default_factory=dict)
    # The first phase in which the candidate's code failed, explained to them.
    failure: CodeFailure | None = None

    def merge(self, part: _Ledger) -> None:
        self.phases.extend(part.phases)
        self.tests.extend(part.tests)
        self.metrics.update(part.metrics)
        self.failures.update(part.failures)
        self.failure = self.failure or part.failure


@dataclasses.dataclass(frozen=True)
class _Part:
    """A hidden suite (``metrics`` None) or a harness: what a serve session is opened for."""

    name: str
    path: Path
    metrics: tuple[str, ...] | None = None


class _Budget:
    """The CPUs one grading may use at once, shared by its parts' threads: taken for container
    work, and one for the turn of trusted code, which one part holds at a time."""

    def __init__(self, cpus: float) -> None:
        self.cpus = cpus
        self._turn_cpus = min(1.0, cpus)
        self._free = cpus
        self._changed = threading.Condition()
        self._turn = threading.Lock()
        self._mine = threading.local()

    def _take(self, cpus: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._free >= cpus)
            self._free -= cpus

    def _give(self, cpus: float) -> None:
        with self._changed:
            self._free += cpus
            self._changed.notify_all()

    def _enter_turn(self) -> None:
        self._turn.acquire()
        self._take(self._turn_cpus)
        self._mine.turn = True

    def _leave_turn(self) -> None:
        self._mine.turn = False
        self._give(self._turn_cpus)
        self._turn.release()

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Run a part's hidden code (pytest, a harness), no other part's meanwhile."""
        self._enter_turn()
        try:
            yield
        finally:
            self._leave_turn()

    @contextmanager
    def container(self, cpus: float) -> Iterator[None]:
        """Container work of up to ``cpus``; the turn is given up meanwhile and taken back after.
        Nested container work (``load()`` in a session's start) is part of the outer one's."""
        if getattr(self._mine, "container", False):
            yield
            return
        held = getattr(self._mine, "turn", False)
        if held:
            self._leave_turn()
        cpus = min(cpus, self.cpus)
        self._take(cpus)
        self._mine.container = True
        try:
            yield
        finally:
            self._mine.container = False
            self._give(cpus)
            if held:
                self._enter_turn()


class _Answers:
    """A shared session's answers, as digests by call, across its parts: a call asked again must
    get the answer it got the first time, whichever part asked it then."""

    def __init__(self) -> None:
        self._first: dict[str, str] = {}

    def check(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any],
              result: Any) -> None:
        answer = _digest(result)
        if self._first.setdefault(_digest([name, list(args), kwargs]), answer) != answer:
            raise CandidateCallFailed(
                f"{name}() answered a call differently from the first time it was asked: the "
                "same call must give the same answer whatever was asked before")


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()


class _Candidate(Candidate):
    """A part's candidate: each call's container work taken from the grading's CPU budget and,
    in a shared session, its answer checked against the same call's first one."""

    def __init__(self, session: sandbox.AgentSession,
                 entry_points: dict[str, tuple[dict[str, Any], Any]], *, budget: _Budget,
                 cpus: float, answers: _Answers | None) -> None:
        super().__init__(session, entry_points)
        self._budget = budget
        self._cpus = cpus
        self._answers = answers

    def call(self, name: str, /, *args: Any, timeout: float | None = None, **kwargs: Any) -> Any:
        with self._budget.container(self._cpus):
            result = super().call(name, *args, timeout=timeout, **kwargs)
        if self._answers is not None:
            self._answers.check(name, args, kwargs, result)
        return result


Role = tuple[Literal["build", "serve"], bool, str]


class _Ahead:
    """The next part's serve session, started in the background while the current part runs:
    its container's start and pre-import (``sandbox.start_session``) take one CPU of the
    budget, so they overlap the current part's trusted code and waits, never more than the
    budget. Its phase begins when the part opens it (``take().open()``); ``close`` removes its
    container, opened or not."""

    def __init__(self, grading: _Grading, work: Path) -> None:
        self._stack = ExitStack()
        self._pending: sandbox.PendingSession | None = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, args=(grading, work), daemon=True,
                                        name="grading-ahead")
        self._thread.start()

    def _start(self, grading: _Grading, work: Path) -> None:
        try:
            with grading.budget.container(1.0):
                self._pending = self._stack.enter_context(sandbox.start_session(
                    grading._session_spec(grading.serve_limits, work=work,
                                          data=grading.public_data)))
                # Outside the phase's clock: the import the part would otherwise wait for.
                self._pending.wait_warm(grading.serve_limits.timeout)
        except TimeoutError as exc:  # no candidate code has run: stuck on the grader's side
            self._error = sandbox.SandboxError(f"a session started ahead: {exc}")
        except BaseException as exc:  # raised where the part takes it
            self._error = exc

    def take(self) -> sandbox.PendingSession:
        self._thread.join()
        if self._error is not None:
            raise self._error
        assert self._pending is not None
        return self._pending

    def close(self) -> None:
        self._thread.join()
        self._stack.close()


class _Grading:
    """The state of one grading: phase results, test results, metrics and failure reasons."""

    def __init__(self, assignment: Assignment, folder: Path, instance: AssignmentInstance,
                 submission_dir: Path, runner_image: str, ceiling: sandbox.Limits,
                 progress: ProgressFn, anchors: Anchors | None = None,
                 preload: tuple[str, ...] = ()) -> None:
        self.assignment = assignment
        self.anchors = anchors
        self.instance = instance
        self.context = HiddenContext(hidden_dir=folder / "hidden", seeds=instance.seeds)
        self.folder = folder
        # Mounted at /data in every session but a probe's, and read by the signals.
        self.public_data = instance.public_data
        self.submission_dir = submission_dir
        self.runner_image = runner_image
        self.build_limits = assignment.phases.build.limits_within(ceiling)
        self.serve_limits = assignment.phases.serve.limits_within(ceiling)
        # The most one phase may use: what the worker pool sets aside for a grading.
        self.budget = _Budget(max(self.build_limits.cpus, self.serve_limits.cpus))
        self.progress = progress
        self.preload = preload
        self.ledger = _Ledger()
        self.build_failure: str | None = None
        self.scrubber = Scrubber.for_grading(folder=folder, public_data=self.public_data)
        self.signals: Signals | None = None
        self.environment: EnvironmentFit | None = None

    # the flow ------------------------------------------------------------------------------
    def run(self) -> None:
        with tempfile.TemporaryDirectory(prefix="work-") as tmp:
            work = Path(tmp) / "work"
            self._build(work)
            parts = ([_Part(suite.name, self.folder / suite.path)
                      for suite in self.assignment.hidden_tests]
                     + [_Part(harness.name, self.folder / harness.path,
                              tuple(m.name for m in harness.metrics))
                        for harness in self.assignment.harnesses])
            if self.build_failure is None and self.assignment.phases.serve.shared:
                parts = self._shared(parts, work)
            self._side_by_side(parts, work)
            provided = self._provided()
            self.environment = fit(self.submission_dir, provided)
            self._signals(provided)

    def _build(self, work: Path) -> None:
        build = self.assignment.phases.build
        self.progress(f"build: {build.call}()")
        try:
            work_bytes = self._build_into(work, CANDIDATE_LOG_PHASE, data=self.public_data,
                                          public=True, ledger=self.ledger)
        except sandbox.AgentError as exc:
            self.build_failure = f"the build phase failed in {build.call}(): {_describe(exc)}"
            return
        self.context = dataclasses.replace(self.context, work_bytes=work_bytes)

    def _build_into(self, work: Path, phase: str, *, data: Path | None, public: bool,
                    ledger: _Ledger) -> int:
        """One build session; returns the size of the work dir it saved. ``public``: ``data`` is
        the public data (else a hidden test's, which the candidate may not read back)."""
        build = self.assignment.phases.build
        where = f"in {build.call}()" if public else f"in {build.call}() on other data"
        with (self.budget.container(self.build_limits.cpus),
              self._session(phase, self.build_limits, work=None, data=data,
                            role=("build", public, where), ledger=ledger) as session):
            session.call(build.call, timeout=self.build_limits.timeout, **build.arguments)
            session.export_dir(work, max_bytes=self.build_limits.work_size)
        # The files' own sizes (the model on disk), not the archive's; known only once the
        # session that made them has been recorded.
        work_bytes = sum(f.stat().st_size for f in work.rglob("*") if f.is_file())
        ledger.phases[-1] = ledger.phases[-1].model_copy(update={"work_bytes": work_bytes})
        return work_bytes

    def _side_by_side(self, parts: list[_Part], work: Path) -> None:
        """Each part in a serve session of its own, as many at once as the budget holds."""
        ledgers = [_Ledger() for _ in parts]

        def run(part: _Part, ledger: _Ledger, ahead: _Ahead | None = None) -> None:
            self._part(part, ledger, lambda: self._own_session(part.name, work, ledger, ahead))

        slots = min(len(parts), int(self.budget.cpus // self.serve_limits.cpus))
        if slots > 1:
            with ThreadPoolExecutor(slots, thread_name_prefix="grading-part") as pool:
                done = [pool.submit(run, part, ledger) for part, ledger in zip(parts, ledgers,
                                                                              strict=True)]
            for future in done:  # the first part's error in the declared order
                future.result()
        else:
            ahead: _Ahead | None = None
            try:
                for index, (part, ledger) in enumerate(zip(parts, ledgers, strict=True)):
                    current = ahead
                    ahead = (_Ahead(self, work) if self.preload and self.build_failure is None
                             and index + 1 < len(parts) else None)
                    try:
                        run(part, ledger, current)
                    finally:
                        if current is not None:
                            current.close()
            finally:
                if ahead is not None:
                    ahead.close()
        for ledger in ledgers:
            self.ledger.merge(ledger)

    def _shared(self, parts: list[_Part], work: Path) -> list[_Part]:
        """The parts in one serve session, in order; returns those left to run on their own
        (all of them when it does not load, the one it ended in and the rest when it ends)."""
        left = list(parts)
        answers = _Answers()
        try:
            with self._serve(f"serve: {', '.join(part.name for part in parts)}", work,
                             data=self.public_data, ledger=self.ledger, role=None) as session:
                while left and session.result is None:
                    ledger = _Ledger()
                    self._part(left[0], ledger,
                               functools.partial(self._shared_use, session, answers, ledger))
                    if session.result is None:  # else it ended during this part: run it again
                        self.ledger.merge(ledger)
                        left.pop(0)
        except (sandbox.AgentError, CandidateCallFailed):
            pass  # load() failed; in sessions of their own the parts say how, as without sharing
        return left

    def _part(self, part: _Part, ledger: _Ledger,
              serving: Callable[[], AbstractContextManager[Candidate]]) -> None:
        if part.metrics is None:
            self._suite(part, ledger, serving)
        else:
            self._harness(part, part.metrics, ledger, serving)

    def _suite(self, part: _Part, ledger: _Ledger,
               serving: Callable[[], AbstractContextManager[Candidate]]) -> None:
        self.progress(f"hidden tests: {part.name}")
        if self.build_failure:
            ledger.failures[part.name] = self.build_failure
            return
        try:
            with serving() as candidate, self.budget.turn():
                ledger.tests.extend(run_suite(part.name, part.path, candidate=candidate,
                                              context=self._context_for(part.name, ledger)))
        except (sandbox.AgentError, CandidateCallFailed) as exc:
            ledger.failures[part.name] = f"the serve phase failed: {_describe(exc)}"
        except HarnessError as exc:  # a test, fixture or collection failed on the author's side
            if isinstance(exc.__cause__, InfrastructureError):  # a probe build met the engine
                # Its own words, as a new exception: re-raising it from exc would make a cycle.
                raise InfrastructureError(str(exc.__cause__)) from exc.__cause__
            raise InfrastructureError(f"the assignment's hidden tests are broken: {exc}") from exc

    def _harness(self, part: _Part, metrics: tuple[str, ...], ledger: _Ledger,
                 serving: Callable[[], AbstractContextManager[Candidate]]) -> None:
        name = part.name
        self.progress(f"evaluation: {name}")
        for metric in metrics:
            ledger.metrics[f"{name}.{metric}"] = None
        if self.build_failure:
            ledger.failures[name] = self.build_failure
            return
        try:
            with serving() as candidate, self.budget.turn():
                values = run_harness(name, part.path, candidate=candidate,
                                     context=self._context_for(name, ledger),
                                     metrics=list(metrics))
        except Exception as exc:  # an InfrastructureError, a BaseException, passes untouched
            if not blames_candidate(exc):  # HarnessError, or the harness's own KeyError, ...
                detail = exc if isinstance(exc, HarnessError) else f"{type(exc).__name__}: {exc}"
                raise InfrastructureError(f"the assignment's harness {name} is broken: {detail}"
                                          ) from exc
            # The harness stops on the candidate's answers (a failed call, a wrong shape, its
            # assertion on a length): its metrics score zero with this reason, which reviewers see.
            ledger.failures[name] = f"the evaluation stopped: {_describe(exc)}"
            return
        ledger.metrics.update({f"{name}.{metric}": value for metric, value in values.items()})

    def _signals(self, provided: ProvidedModules) -> None:
        """Engineering signals for reviewers (never scored here); once per grading."""
        self.progress("engineering signals")
        try:
            self.signals = collect_signals(
                submission_dir=self.submission_dir,
                starter_dir=self.folder / self.assignment.candidate.bundle,
                runner_image=self.runner_image, limits=self.build_limits,
                provided=provided, public_data=self.public_data)
        except sandbox.SandboxError as exc:
            raise InfrastructureError(f"the candidate's own tests could not run: {exc}") from exc

    # probe builds --------------------------------------------------------------------------
    def _context_for(self, name: str, ledger: _Ledger) -> HiddenContext:
        return dataclasses.replace(
            self.context, builder=lambda data_dir: self._probe(name, Path(data_dir), ledger))

    @contextmanager
    def _probe(self, name: str, data_dir: Path, ledger: _Ledger) -> Iterator[Candidate]:
        """Build the submission again on ``data_dir`` (at /data) and serve that build."""
        build = self.assignment.phases.build
        phase = f"probe: {name} ({data_dir.name})"
        self.progress(f"{phase}: {build.call}()")
        failure: BaseException | None = None
        try:
            with tempfile.TemporaryDirectory(prefix="probe-") as tmp:
                data, work = Path(tmp) / "data", Path(tmp) / "work"
                self._copy_probe_data(data_dir, data)
                try:
                    self._build_into(work, f"build {phase}", data=data, public=False,
                                     ledger=ledger)
                except sandbox.AgentError as exc:
                    raise CandidateCallFailed(
                        f"the build on {data_dir.name} failed in {build.call}(): "
                        f"{_describe(exc)}") from exc
                with self._serve(f"serve {phase}", work, data=data, ledger=ledger,
                                 role=("serve", False, "in the serve phase of a build on other "
                                                      "data")) as session:
                    try:
                        yield self._candidate(session)
                    except BaseException as exc:
                        # The caller's own failure (an assertion, a skip) is not the session's:
                        # it ends as usual rather than being killed on that account.
                        failure = exc
        except (HarnessError, OSError) as exc:
            # Raised into the author's hidden test, and past any ``except Exception`` there.
            raise InfrastructureError(f"a probe build for {name} could not run: {exc}") from exc
        if failure is not None:
            raise failure

    def _copy_probe_data(self, source: Path, destination: Path) -> None:
        """A copy the sandbox's user can read (the author's may sit in a private temp folder,
        as pytest's tmp_path does), holding every /data file the build is given."""
        if not source.is_dir():
            raise HarnessError(f"the probe data {source} is not a folder")
        for key, value in self.assignment.phases.build.arguments.items():
            if isinstance(value, str) and value.startswith(f"{PUBLIC_DATA_DIR}/"):
                relative = value.removeprefix(f"{PUBLIC_DATA_DIR}/")
                if not (source / relative).exists():
                    raise HarnessError(f"the probe data {source} has no {relative}, which the "
                                       f"build is given as {key}={value}")
        shutil.copytree(source, destination, symlinks=False)
        sandbox.make_readable(destination)

    # sessions ------------------------------------------------------------------------------
    @contextmanager
    def _session(self, phase: str, limits: sandbox.Limits, *, work: Path | None,
                 data: Path | None, role: Role | None, ledger: _Ledger,
                 ahead: _Ahead | None = None) -> Iterator[sandbox.AgentSession]:
        """``data`` is mounted read-only at /data: the public data, or a probe's. ``role``: the
        phase as the candidate knows it, whether it saw only public data, and where in their
        code it ran ("in train()"), for explaining their failure; None for a shared session,
        whose failures the parts run again in sessions of their own explain. ``ahead``: this
        session, started earlier with these arguments."""
        session: sandbox.AgentSession | None = None
        failure: BaseException | None = None
        try:
            with (ahead.take().open() if ahead is not None else
                  sandbox.open_session(self._session_spec(limits, work=work, data=data))
                  ) as session:
                yield session
        except sandbox.SandboxError as exc:  # the grader's side (an AgentError is not one)
            failure = exc
            raise InfrastructureError(f"the {phase} phase could not run: {exc}") from exc
        except BaseException as exc:
            failure = exc
            raise
        finally:
            result = getattr(failure, "result", None) or (session.result if session else None)
            self._record(ledger, phase, result, failure)
            if (result is not None and result.outcome is sandbox.Outcome.INFRASTRUCTURE_ERROR
                    and not isinstance(failure, sandbox.SandboxError)):
                # The engine lost the container, whatever else the phase met: never graded.
                raise InfrastructureError(
                    f"the {phase} phase could not run: {result.message}") from failure
            if role is not None:
                # No session yet: the agent's import of solution.py failed.
                self._explain(ledger, failure, result, role, limits,
                              where=None if session is not None else "while importing "
                                                                     "solution.py")

    def _session_spec(self, limits: sandbox.Limits, *, work: Path | None,
                      data: Path | None) -> sandbox.SessionSpec:
        return sandbox.SessionSpec(
            image=self.runner_image, limits=limits, submission=self.submission_dir,
            mounts=() if data is None else (sandbox.ReadOnlyMount(data, PUBLIC_DATA_DIR),),
            work=work, call_timeout=self.assignment.phases.serve.call_timeout,
            preload=self.preload)

    def _explain(self, ledger: _Ledger, failure: BaseException | None,
                 result: sandbox.RunResult | None, role: Role, limits: sandbox.Limits,
                 where: str | None = None) -> None:
        if ledger.failure is None and not isinstance(failure, (sandbox.SandboxError,
                                                               InfrastructureError)):
            kind, public, in_code = role
            ledger.failure = explain(
                failure, result, phase=kind, public=public, limits=limits,
                where=where or in_code, submission_dir=self.submission_dir,
                scrubber=self.scrubber, check_hint=self._check_hint())

    @contextmanager
    def _serve(self, phase: str, work: Path, *, data: Path | None, ledger: _Ledger,
               role: Role | None, ahead: _Ahead | None = None
               ) -> Iterator[sandbox.AgentSession]:
        """A serve session over ``work``, its ``load()`` done. Serve calls are handed hidden
        inputs, whatever the data: never public to the candidate (``role``)."""
        serve = self.assignment.phases.serve
        with ExitStack() as stack:
            # Starting it (importing solution.py) and loading are its container's work.
            with self.budget.container(self.serve_limits.cpus):
                session = stack.enter_context(self._session(
                    phase, self.serve_limits, work=work, data=data, role=role, ledger=ledger,
                    ahead=ahead))
                try:
                    # Loading a model is one-time work, bounded by the phase rather than per call.
                    self._candidate(session).call(serve.load, work_dir=sandbox.WORK_DIR,
                                                  timeout=self.serve_limits.timeout)
                except CandidateCallFailed as exc:
                    if isinstance(exc.__cause__, sandbox.AgentError):
                        raise exc.__cause__ from None
                    raise
            yield session

    @contextmanager
    def _own_session(self, name: str, work: Path, ledger: _Ledger,
                     ahead: _Ahead | None = None) -> Iterator[Candidate]:
        with self._serve(f"serve: {name}", work, data=self.public_data, ledger=ledger,
                         role=("serve", False, "in the serve phase"), ahead=ahead) as session:
            yield self._candidate(session)

    @contextmanager
    def _shared_use(self, session: sandbox.AgentSession, answers: _Answers,
                    ledger: _Ledger) -> Iterator[Candidate]:
        """One part's turn on the shared session; its failure explained as its own session's
        end would explain it (unless the session ended: then the part runs again on its own)."""
        try:
            yield self._candidate(session, answers)
        except BaseException as exc:
            if session.result is None:
                self._explain(ledger, exc, None, ("serve", False, "in the serve phase"),
                              self.serve_limits)
            raise

    def _candidate(self, session: sandbox.AgentSession,
                   answers: _Answers | None = None) -> Candidate:
        return _Candidate(session, {ep.name: (ep.params, ep.returns)
                                    for ep in self.assignment.entry_points
                                    if ep.phase == "serve"},
                          budget=self.budget, cpus=self.serve_limits.cpus, answers=answers)

    def _check_hint(self) -> str | None:
        bundle = self.folder / self.assignment.candidate.bundle
        if not (bundle / CHECK_SCRIPT).is_file():
            return None
        return (f"Run `python {CHECK_SCRIPT}` in your starter bundle's folder, with your "
                "solution beside it: it builds and serves your code on the public data the way "
                "the grader does, so you can see this failure before you upload again.")

    def _record(self, ledger: _Ledger, phase: str, result: sandbox.RunResult | None,
                failure: BaseException | None = None) -> None:
        if result is None:
            return
        log = result.stderr.text
        if isinstance(failure, sandbox.CandidateError) and failure.traceback:
            log += "\n" + failure.traceback
        ledger.phases.append(PhaseResult(
            name=phase, outcome=result.outcome.value,
            message=_describe(failure) if failure else result.message,
            wall_seconds=result.wall_seconds, cpu_seconds=result.cpu_seconds,
            peak_memory_bytes=result.peak_memory_bytes, log=log[-20_000:]))

    # the report ----------------------------------------------------------------------------
    def report(self, image_digest: str, submission_sha256: str | None) -> Report:
        ledger = self.ledger
        tests_by_suite = {
            suite.name: (sum(t.outcome == "passed" for t in ledger.tests
                             if t.suite == suite.name),
                         sum(t.suite == suite.name for t in ledger.tests))
            for suite in self.assignment.hidden_tests}
        values, cited = placing(self.assignment, instance_id=self.instance.instance_id,
                                demo=self.instance.demo,
                                assignment_sha256=folder_sha256(self.folder),
                                image_digest=image_digest, anchors=self.anchors)
        card = score(self.assignment, ledger.metrics, tests_by_suite, failures=ledger.failures,
                     anchors=values)
        message = f"Graded: {card.total:.1f} / 100."
        if ledger.failure is not None:
            message += f" {ledger.failure.summary}"
        if cited.provisional:
            message += PROVISIONAL_NOTE
        return Report(
            status=ReportStatus.GRADED, message=message,
            assignment_title=self.assignment.title, total=card.total,
            components=card.components, metrics=self._metric_results(values), anchors=cited,
            hidden_tests=ledger.tests, phases=ledger.phases, signals=self.signals,
            failure=ledger.failure, environment=self.environment,
            integrity=self._integrity(values),
            reproduction=_reproduction(self.assignment, self.folder, self.instance,
                                       self.runner_image, image_digest, submission_sha256,
                                       {"build": self.build_limits, "serve": self.serve_limits}))

    def _provided(self) -> ProvidedModules:
        """What the image the candidate ran in has installed (asked of it once per process),
        which the candidate's imports and requirements.txt are compared with."""
        try:
            return provided_by(self.runner_image)
        except EnvironmentUnreadable as exc:
            raise InfrastructureError(str(exc)) from exc

    def _integrity(self, anchors: dict[str, dict[str, float]]) -> Integrity:
        """Evidence for reviewers (never scored, never released); placed on the score's anchors.
        A failure inside the check is recorded in the section, never raised."""
        self.progress("integrity")
        return check_integrity(
            submission_dir=self.submission_dir, assignment=self.assignment, folder=self.folder,
            metrics=self.ledger.metrics, public_data=self.public_data, anchors=anchors,
            hidden_items=self._hidden_items if self.assignment.instance is not None else None)

    def _hidden_items(self) -> list[Any]:
        """The instance's hidden split as JSON rows (looked for in the submission's files)."""
        generator = load_generator(self.assignment, self.folder)
        if generator is None:
            return []
        return list(generator.hidden_items(dict(self.instance.seeds)))

    def _metric_results(self, anchors: dict[str, dict[str, float]]) -> list[MetricResult]:
        results = []
        for harness in self.assignment.harnesses:
            for metric in harness.metrics:
                key = f"{harness.name}.{metric.name}"
                results.append(MetricResult(
                    name=key, value=self.ledger.metrics.get(key),
                    higher_is_better=metric.higher_is_better,
                    baselines={name: scores[key] for name, scores in anchors.items()
                               if key in scores},
                    reason=self.ledger.failures.get(harness.name, "")))
        return results


def _describe(exc: BaseException | None) -> str:
    if isinstance(exc, sandbox.SessionClosed) and exc.outcome is not None:
        return str(sandbox.Outcome(exc.outcome).value).replace("_", " ") + f" ({exc})"
    if isinstance(exc, sandbox.CandidateError):
        return f"{exc.type_name}: {exc.message}" if exc.message else exc.type_name
    return str(exc)


def _reproduction(assignment: Assignment, folder: Path, instance: AssignmentInstance,
                  runner_image: str, image_digest: str | None, submission_sha256: str | None,
                  limits: dict[str, sandbox.Limits]) -> Reproduction:
    return Reproduction(
        runner_image=runner_image, runner_image_digest=image_digest,
        assignment_id=assignment.id, assignment_version=assignment.version,
        assignment_sha256=folder_sha256(folder), submission_sha256=submission_sha256,
        instance_id=instance.instance_id, demo=instance.demo,
        public_data_sha256=instance.public_data_sha256,
        # A private instance's seeds are derived from its secret: a report that travels (an
        # export, a forwarded file) must not carry them.
        seeds=dict(instance.seeds) if instance.demo else {},
        exposure=list(instance.exposure),
        limits={phase: value.model_dump(mode="json") for phase, value in limits.items()})


def _rejected(assignment: Assignment, folder: Path, instance: AssignmentInstance,
              runner_image: str, ceiling: sandbox.Limits, reason: str) -> Report:
    return Report(
        status=ReportStatus.REJECTED, message=f"Your upload was rejected: {reason}",
        assignment_title=assignment.title, total=None, components=[], metrics=[],
        hidden_tests=[], phases=[],
        reproduction=_reproduction(assignment, folder, instance, runner_image,
                                   sandbox.image_digest(runner_image), None,
                                   {"build": assignment.phases.build.limits_within(ceiling),
                                    "serve": assignment.phases.serve.limits_within(ceiling)}))
