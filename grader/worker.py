"""Workers: claim grading jobs from the store, grade each in a child process, store the report.

A worker process runs a pool of slots (threads) over one CPU budget: the host's CPUs as this
process may use them (its affinity, lowered by its cgroup's quota: ``host_cpus``). A grading takes
from the budget the most CPUs any phase of its assignment may use (``grading_cpus``), and gives
them back when it ends, so small assignments run side by side and a large one runs with fewer
beside it; the slots (``max_concurrency``) are only as many as the smallest assignment allows.
Each slot loops: claim a job under a lease, take its CPUs (``CpuBudget``), start a child
process (``python -m grader.jobs.grading``) that grades it, renew the lease every third of its
length while the child runs, then store the report and mark the job done in one transaction (the
report set beside the submission's earlier gradings: ``grader.stability`` flags the quality
metrics that moved). Each step the child reports on its stdout (the build, each hidden suite and
harness) is stored on the job as it comes (``record_progress``), for the candidate's status page.

Fairness: first come, first served. A slot claims only while the budget has CPUs free and no
claimed grading is waiting for them, so at most one claim waits (heartbeating its lease), and
gradings claimed after it wait behind it even when they would fit: a large grading is never passed
over for ever by small ones, at the price of cores idle while it waits for room. A grading whose
assignment asks for more CPUs than the host has takes the whole budget, and runs alone.

Why a child process per grading: hidden suites run under pytest in the grading process, and pytest
swaps process-wide state (stdout and stderr, import hooks, modules); two gradings in one process
would trample each other, and a crash of trusted code would take the worker down. The child
(``grader.jobs.grading``) reads its request from stdin and keeps reading: when the worker dies
(even by SIGKILL) the pipe closes and the child exits at once; the containers it leaves are
reaped (``sandbox.reap_orphans``).

Outcomes: a candidate's failure is a graded report (the pipeline returns one). An
``InfrastructureError`` (engine, image, a broken harness), a crashed child or an overrun deadline
is retried with a doubling backoff up to ``settings.max_attempts``, then the job is marked errored
with the reason. A job whose worker vanished is claimed again when its lease lapses.

Anchors: one more thread grades, one baseline at a time and each in a child process like a
submission's, every assignment's baselines on the deployment's instance (``grader.anchors``) when
they are not yet measured for its content and runner image: at start, then every
``ANCHORS_EVERY_SECONDS`` (an errored baseline again after ``ANCHORS_RETRY_SECONDS``). It takes
its CPUs from the same budget while it grades, and
once an assignment's anchors are complete it re-scores that assignment's provisional reports in
the store. A provisional report stored after that sweep (graded while the last baseline was) is
placed on the anchors as it is stored.

Exceptions:

    LeaseLost    the job was reclaimed by another worker while this one graded it
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

import sandbox
from grader import integrations, webhooks
from grader.anchors import (
    Anchors,
    AnchorsError,
    anchors_for,
    measure_missing,
    measured_scores,
    rescored,
)
from grader.authoring import AssignmentNotFound, find_assignment, list_assignments
from grader.instance import InstanceError
from grader.jobs.delivery import DeliveryLoop
from grader.jobs.grading import GradeFunction, GradingRequest, grade_request, reference_of
from grader.pipeline import InfrastructureError
from grader.report import Report
from grader.settings import Settings
from grader.spec import Assignment, Baseline, SpecError
from grader.stability import comparer
from grader.store import (
    Claim,
    Database,
    JobState,
    claim_job,
    complete_job,
    fail_job,
    heartbeat,
    migrate,
    record_progress,
    release_job,
    rescore_reports,
)

__all__ = [
    "CpuBudget",
    "GradingRequest",
    "LeaseLost",
    "WorkerPool",
    "grade_request",
    "grading_cpus",
    "host_cpus",
    "max_concurrency",
    "submissions_root",
]

log = logging.getLogger("grader.worker")

REAP_EVERY_SECONDS = 60.0
ANCHORS_EVERY_SECONDS = 300.0
ANCHORS_RETRY_SECONDS = 3600.0


class LeaseLost(Exception):
    """The job's lease passed to another worker; this worker's result is discarded."""


def submissions_root(settings: Settings) -> Path:
    return settings.data_dir.resolve() / "submissions"


def host_cpus(cgroup_root: Path = Path("/sys/fs/cgroup"),
              own_cgroups: Path = Path("/proc/self/cgroup")) -> float:
    """The CPUs this process may use: those it may run on, lowered by the CPU quota of its
    cgroup or of any cgroup above it (a worker in a container limited to 3 CPUs gets 3)."""
    cpus = float(len(os.sched_getaffinity(0)))
    try:
        lines = own_cgroups.read_text().splitlines()
    except OSError:
        return cpus
    for line in lines:
        _hierarchy, controllers, path = line.split(":", 2)
        if controllers == "":  # cgroup v2: cpu.max is "max 100000" or "QUOTA PERIOD"
            folders, quota_of = [cgroup_root], _quota_v2
        elif "cpu" in controllers.split(","):
            folders, quota_of = [cgroup_root / controllers, cgroup_root / "cpu"], _quota_v1
        else:
            continue
        for folder in folders:
            for here in [folder / path.lstrip("/"), *(folder / path.lstrip("/")).parents]:
                quota = quota_of(here)
                if quota is not None:
                    cpus = min(cpus, quota)
                if here == folder:
                    break
    return cpus


def _quota_v2(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()
    except (OSError, ValueError):
        return None
    return None if quota == "max" else int(quota) / int(period)


def _quota_v1(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None if quota <= 0 else quota / period


def grading_cpus(settings: Settings, assignment_id: str) -> float:
    """The CPUs one grading of this assignment may use at once: the most of any of its phases
    (the pipeline's own budget). An assignment that cannot be read counts at the deployment's
    ceiling: its grading will report why."""
    try:
        assignment, _folder = find_assignment(settings.assignments_dir, assignment_id,
                                              ceiling=settings.limits)
        return max(assignment.phases.build.limits_within(settings.limits).cpus,
                   assignment.phases.serve.limits_within(settings.limits).cpus)
    except (AssignmentNotFound, SpecError, ValueError):
        return settings.limits.cpus


def max_concurrency(settings: Settings, cpu_count: float | None = None) -> int:
    """Grading slots for one host: as many as its CPUs hold of the deployment's smallest
    grading (``settings.workers`` may lower it). The CPU budget decides how many run at once."""
    cpus = host_cpus() if cpu_count is None else cpu_count
    smallest = min([settings.limits.cpus] + [
        grading_cpus(settings, name)
        for name, assignment in list_assignments(settings.assignments_dir,
                                                 ceiling=settings.limits)
        if not isinstance(assignment, SpecError)])
    ceiling = max(1, int(cpus // smallest))
    return ceiling if settings.workers is None else min(settings.workers, ceiling)


class CpuBudget:
    """A host's CPUs shared by the gradings of one worker process, first come, first served:
    ``line_up`` joins the line, then ``_Turn.wait`` takes the CPUs, given back when the turn's
    ``with`` block ends.

    Counted in thousandths of a CPU, so that fractions such as 0.1 add up exactly.
    """

    def __init__(self, cpus: float) -> None:
        self.total = _milli(cpus)
        self.used = 0
        self.line: deque[_Turn] = deque()
        self.changed = threading.Condition()

    def has_room(self) -> bool:
        """CPUs are free and no grading is waiting for them."""
        with self.changed:
            return not self.line and self.used < self.total

    def line_up(self, cpus: float) -> _Turn:
        """A place in line for ``cpus``; a grading larger than the host waits for all of them."""
        turn = _Turn(self, min(_milli(cpus), self.total))
        with self.changed:
            self.line.append(turn)
        return turn


class _Turn:
    def __init__(self, budget: CpuBudget, wanted: int) -> None:
        self.budget, self.wanted, self.holds = budget, wanted, False

    def wait(self, *, every: Callable[[], None] = lambda: None, interval: float = 1.0) -> None:
        """Until first in line with room; ``every`` is called each ``interval`` seconds
        meanwhile, outside the budget's lock (it may raise to give the place up)."""
        budget = self.budget
        while True:
            with budget.changed:
                if budget.line[0] is self and budget.used + self.wanted <= budget.total:
                    budget.line.popleft()
                    budget.used += self.wanted
                    self.holds = True
                    return
                budget.changed.wait(interval)
            every()

    def __enter__(self) -> _Turn:
        return self

    def __exit__(self, *_exc: object) -> None:
        budget = self.budget
        with budget.changed:
            if self.holds:
                budget.used -= self.wanted
                self.holds = False
            elif self in budget.line:
                budget.line.remove(self)
            budget.changed.notify_all()


def _milli(cpus: float) -> int:
    return max(1, round(cpus * 1000))


# --- the slots (in the worker) ------------------------------------------------------------------

class _Slot:
    """One grading at a time: claim, run the child with heartbeats, record the outcome."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.name = f"{socket.gethostname()}:{os.getpid()}:{index}"
        self.thread = threading.Thread(target=self.run, name=f"grader-slot-{index}", daemon=True)

    def run(self) -> None:
        settings, stop = self.pool.settings, self.pool.stopping
        while not stop.is_set():
            claim = None
            # One claim at a time, and only with CPUs free: the claimed grading is in the
            # budget's line before the next slot looks, so at most one claim waits for CPUs.
            with self.pool.claiming:
                if self.pool.budget.has_room():
                    claim = claim_job(self.pool.db, worker=self.name,
                                      lease_seconds=settings.lease_seconds,
                                      max_attempts=settings.max_attempts,
                                      on_errored=self._lapsed_errored)
                    if claim is not None:
                        cpus = grading_cpus(settings, claim.assignment_id)
                        turn = self.pool.budget.line_up(cpus)
            if claim is None:
                stop.wait(settings.poll_seconds)
                continue
            self.pool.busy.add(claim.job_id)
            try:
                with turn:
                    self._handle(claim, turn)
            finally:
                self.pool.busy.discard(claim.job_id)

    def _lapsed_errored(self, submission_id: int, attempts: int) -> None:
        """A job whose worker died on each attempt, errored by the claim that found it."""
        log.warning("submission %s: errored, its worker stopped answering on each of %s "
                    "attempts", submission_id, attempts)
        webhooks.grading_errored(self.pool.db, self.pool.settings, submission_id, attempts)

    def _handle(self, claim: Claim, turn: _Turn) -> None:
        settings = self.pool.settings
        log.info("job %s: attempt %s of submission %s (%s)", claim.job_id, claim.attempt,
                 claim.submission_id, self.name)
        try:
            turn.wait(every=lambda: self._renew(claim), interval=settings.lease_seconds / 3)
            report = self._grade(claim)
        except LeaseLost:
            log.warning("job %s: lease lost to another worker; result discarded", claim.job_id)
            return
        except _Stopping:
            release_job(self.pool.db, claim)
            log.info("job %s: given back to the queue (worker stopping)", claim.job_id)
            return
        except InfrastructureError as exc:
            state = fail_job(self.pool.db, claim, str(exc), retryable=True,
                             max_attempts=settings.max_attempts,
                             backoff_seconds=settings.retry_backoff_seconds,
                             backoff_max_seconds=settings.retry_backoff_max_seconds)
            log.warning("job %s: %s -> %s", claim.job_id, exc,
                        state.value if state else "lease lost")
            if state is JobState.ERRORED:
                webhooks.grading_errored(self.pool.db, settings, claim.submission_id,
                                         claim.attempt)
            # Its grading process has ended: what the engine kept of it (a container it lost
            # while restarting) goes now, or at the next round if the engine is still away.
            self.pool.reap()
            return
        # Set beside the submission's earlier gradings: a quality metric that moved is flagged.
        if complete_job(self.pool.db, claim, report,
                        compare=comparer(settings, claim.assignment_id)):
            log.info("job %s: %s, total %s", claim.job_id, report.status.value, report.total)
            webhooks.grading_ended(self.pool.db, settings, claim.submission_id, report)
            integrations.report_stored(self.pool.db, settings, claim.submission_id)
            if report.anchors is not None and report.anchors.provisional:
                self.pool.place_if_anchored(claim.assignment_id, report)
        else:
            log.warning("job %s: lease lost before the report was stored; discarded",
                        claim.job_id)

    def _grade(self, claim: Claim) -> Report:
        settings = self.pool.settings
        with tempfile.TemporaryDirectory(prefix="grading-") as tmp:
            request = GradingRequest(
                job_id=claim.job_id, attempt=claim.attempt, submission_id=claim.submission_id,
                assignment_id=claim.assignment_id,
                submission_dir=submissions_root(settings) / claim.files_dir, sha256=claim.sha256,
                result_path=Path(tmp) / "outcome.json", settings=self.pool.child_settings)
            if not request.submission_dir.is_dir():
                raise InfrastructureError(f"the submission's files are missing from "
                                          f"{request.submission_dir}")
            self._run_child(claim, request)
            try:
                outcome = json.loads(request.result_path.read_text())
            except FileNotFoundError as exc:
                raise InfrastructureError("the grading process ended without an outcome") from exc
        if "infrastructure_error" in outcome:
            raise InfrastructureError(outcome["infrastructure_error"])
        return Report.model_validate(outcome["report"])

    def _run_child(self, claim: Claim, request: GradingRequest) -> None:
        def record(step: str) -> None:
            record_progress(self.pool.db, claim, step)  # a lost lease shows at the next renew
        self.pool.run_child(request, every=lambda: self._renew(claim), on_step=record)

    def _renew(self, claim: Claim) -> None:
        self.pool.raise_if_stopping()
        if not heartbeat(self.pool.db, claim, lease_seconds=self.pool.settings.lease_seconds):
            raise LeaseLost


class _Stopping(Exception):
    pass


class _Steps(threading.Thread):
    """Reads a child's steps (``grader.jobs.grading.report_step``) off its stdout as they come.

    A step that cannot be recorded (the store is away for a moment) is logged and skipped: the
    grading goes on, and the next step will be recorded.
    """

    def __init__(self, stream, on_step: Callable[[str], None]) -> None:
        super().__init__(daemon=True)
        self.stream, self.on_step = stream, on_step
        self.start()

    def run(self) -> None:
        for line in self.stream:
            try:
                self.on_step(str(json.loads(line)["step"]))
            except Exception as exc:  # a step is a courtesy: never worth a grading
                log.warning("a grading step was not recorded: %s", exc)
        self.stream.close()


class _Tail(threading.Thread):
    """Keeps the last bytes a child wrote to stderr, so a crash has a reason."""

    def __init__(self, stream, limit: int = 20_000) -> None:
        super().__init__(daemon=True)
        self.stream, self.limit, self.data = stream, limit, bytearray()
        self.start()

    def run(self) -> None:
        for chunk in iter(lambda: self.stream.read(4096), b""):
            self.data += chunk
            del self.data[:-self.limit]
        self.stream.close()

    def text(self) -> str:
        return self.data.decode("utf-8", "replace")


def _kill(child: subprocess.Popen) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGKILL)
        child.wait()


class WorkerPool:
    """Slots grading jobs from one database, in this process: ``start()``, then ``stop()``."""

    def __init__(self, settings: Settings, db: Database, *, concurrency: int | None = None,
                 grade: GradeFunction = grade_request, anchors: bool | None = None,
                 cpus: float | None = None) -> None:
        """``grade``: what each grading child runs, the pipeline unless a test or a bench gives
        a stand-in (a module-level function, which the child imports by name). ``anchors``:
        measure the assignments' anchors in the background; default: unless a stand-in grades
        (it would measure nothing real). ``cpus``: the budget the gradings share; default: the
        host's (``host_cpus``)."""
        self.settings = settings
        # Checked now: a function the children cannot import would fail every grading.
        self.child_command = [sys.executable, "-m", "grader.jobs.grading"] + (
            [] if grade is grade_request else ["--grader", reference_of(grade)])
        self.measures_anchors = grade is grade_request if anchors is None else anchors
        self.db = db
        self.budget = CpuBudget(host_cpus() if cpus is None else cpus)
        self.claiming = threading.Lock()
        self.concurrency = (concurrency if concurrency is not None
                            else max_concurrency(settings, self.budget.total / 1000))
        self.stopping = threading.Event()
        self.busy: set[int] = set()
        self.slots = [_Slot(self, index) for index in range(self.concurrency)]
        self._reaper = threading.Thread(target=self._reap_periodically, daemon=True,
                                        name="grader-reaper")
        self._reap_lock = threading.Lock()
        # The instance is opened (its secret made) before any child can race to make it.
        settings.instance()
        # The child grades with exactly these settings: no session secret, no database; the
        # instance's secret only as given (else the child reads DATA_DIR's), never masked.
        self.child_settings = settings.model_dump(
            mode="json", exclude={"session_secret", "database_url", "instance_secret"})
        if settings.instance_secret is not None:
            self.child_settings["instance_secret"] = settings.instance_secret.get_secret_value()
        self.child_env = dict(os.environ)
        self._anchors = threading.Thread(target=self._measure_anchors, daemon=True,
                                         name="grader-anchors")
        # Webhooks and other outbound requests, on a thread of their own (grader.deliveries).
        self.deliveries = DeliveryLoop(settings, db)

    def start(self) -> WorkerPool:
        self.reap()
        self.deliveries.start()
        for slot in self.slots:
            slot.thread.start()
        if self.slots:
            self._reaper.start()
            if self.measures_anchors:
                self._anchors.start()
        return self

    def run_child(self, request: GradingRequest, every: Callable[[], None] = lambda: None,
                  on_step: Callable[[str], None] = lambda _step: None) -> None:
        """Run one grading child to its end; ``every`` is called each third of the lease while
        it runs (it may raise to stop the child), ``on_step`` with each step it reports. The
        outcome is in ``request.result_path``."""
        settings = self.settings
        interval = settings.lease_seconds / 3
        deadline = time.monotonic() + settings.job_timeout_seconds
        child = subprocess.Popen(self.child_command,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, env=self.child_env)
        stderr = _Tail(child.stderr)
        steps = _Steps(child.stdout, on_step)
        assert child.stdin is not None
        child.stdin.write(request.model_dump_json().encode() + b"\n")
        child.stdin.flush()
        try:
            while True:
                try:
                    code = child.wait(timeout=min(interval, max(0.1, deadline - time.monotonic())))
                    break
                except subprocess.TimeoutExpired:
                    pass
                if self.stopping.is_set():
                    raise _Stopping
                if time.monotonic() >= deadline:
                    raise InfrastructureError(
                        f"the grading overran its deadline of {settings.job_timeout_seconds:g}s")
                every()
        except BaseException:
            _kill(child)
            self.reap()
            raise
        finally:
            child.stdin.close()
            stderr.join()
            steps.join()
        if code != 0:
            raise InfrastructureError(f"the grading process exited with code {code}: "
                                      f"{stderr.text()[-2000:]}")

    # anchors -----------------------------------------------------------------------------------
    def _measure_anchors(self) -> None:
        while not self.stopping.is_set():
            try:
                self.measure_anchors_once()
            except _Stopping:
                return
            self.stopping.wait(ANCHORS_EVERY_SECONDS)

    def measure_anchors_once(self) -> None:
        """Every assignment's missing anchors measured, then its provisional reports re-scored."""
        root = self.settings.assignments_dir
        for name, assignment in list_assignments(root, ceiling=self.settings.limits):
            if self.stopping.is_set():
                raise _Stopping
            if isinstance(assignment, SpecError):
                continue
            folder = root / name
            try:
                anchors = measure_missing(self.settings, assignment, folder, progress=log.info,
                                          grade=self._baseline_grader(assignment),
                                          retry_errored_after=ANCHORS_RETRY_SECONDS)
            except AnchorsError as exc:  # busy elsewhere, or no runner image yet
                log.info("anchors of %s: %s", assignment.id, exc)
                continue
            except (sandbox.SandboxError, InstanceError, OSError) as exc:
                log.warning("anchors of %s cannot be measured now: %s", assignment.id, exc)
                continue
            self._rescore(assignment, anchors)

    def place_if_anchored(self, assignment_id: str, report: Report) -> None:
        """A provisional report just stored, placed on its instance's anchors if they completed
        while it was graded: the sweep that followed them ran before it was stored."""
        try:
            assignment, folder = find_assignment(self.settings.assignments_dir, assignment_id,
                                                 ceiling=self.settings.limits)
        except (AssignmentNotFound, SpecError):
            return  # gone or broken since it was graded: the next sweep's business
        self._rescore(assignment, anchors_for(self.settings, assignment, folder,
                                              report.reproduction.runner_image_digest))

    def _rescore(self, assignment: Assignment, anchors: Anchors) -> None:
        if anchors.source == "instance" and anchors.complete:
            changed = rescore_reports(self.db, assignment.id,
                                      lambda report: rescored(report, assignment, anchors))
            if changed:
                log.info("anchors of %s: %d provisional report(s) re-scored",
                         assignment.id, changed)

    def _baseline_grader(self, assignment: Assignment) -> Callable[[Baseline], dict[str, float]]:
        def grade(baseline: Baseline) -> dict[str, float]:
            with (self.budget.line_up(grading_cpus(self.settings, assignment.id)) as turn,
                  tempfile.TemporaryDirectory(prefix="anchors-") as tmp):
                turn.wait(every=self.raise_if_stopping)
                request = GradingRequest(
                    job_id=0, attempt=1, submission_id=0, assignment_id=assignment.id,
                    submission_dir=self.settings.assignments_dir / assignment.id / baseline.path,
                    sha256="", result_path=Path(tmp) / "outcome.json",
                    settings=self.child_settings, baseline=baseline.name)
                self.run_child(request)
                try:
                    outcome = json.loads(request.result_path.read_text())
                except FileNotFoundError as exc:
                    raise InfrastructureError("the grading process ended without an outcome"
                                              ) from exc
            if "infrastructure_error" in outcome:
                raise InfrastructureError(outcome["infrastructure_error"])
            return measured_scores(assignment, Report.model_validate(outcome["report"]))
        return grade

    def raise_if_stopping(self) -> None:
        if self.stopping.is_set():
            raise _Stopping

    def stop(self, timeout: float = 30.0) -> None:
        """Stop claiming; running gradings are killed and their jobs given back to the queue."""
        self.stopping.set()
        with self.budget.changed:  # gradings waiting for CPUs give their jobs back now
            self.budget.changed.notify_all()
        for thread in [slot.thread for slot in self.slots] + [self._anchors]:
            if thread.is_alive():
                thread.join(timeout)
        self.deliveries.stop(timeout)

    def reap(self) -> None:
        """Remove containers left by gradings whose process is gone (at start, then each minute)."""
        with self._reap_lock:
            try:
                removed = sandbox.reap_orphans()
            except sandbox.SandboxError as exc:
                log.warning("could not reap orphaned containers: %s", exc)
                return
        if removed:
            log.info("reaped %d orphaned container(s)", len(removed))

    def _reap_periodically(self) -> None:
        while not self.stopping.wait(REAP_EVERY_SECONDS):
            self.reap()


def run_standalone(settings: Settings, *, concurrency: int | None = None,
                   grade: GradeFunction = grade_request,
                   on_ready: Callable[[WorkerPool], None] = lambda _p: None) -> None:
    """`grader worker`: migrate, then grade until SIGINT or SIGTERM."""
    db = Database(settings.resolved_database_url())
    migrate(db)
    pool = WorkerPool(settings, db, concurrency=concurrency, grade=grade)
    done = threading.Event()

    def _stop(_signum, _frame) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        pool.start()
        on_ready(pool)
        done.wait()
    finally:
        pool.stop()
        db.dispose()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
