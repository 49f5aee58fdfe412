"""Wall time of whole gradings: one assignment's reference with a speed-up off and on, or a
mixed cohort through the real worker pool.

``--assignment ID`` grades the assignment's recorded reference (its baseline named
``reference``) ``--rounds`` times each way, interleaved (off, on, off, on, ...), through the
grading children's own entry point (``grader.jobs.grading.grade_request``). ``--switch``
chooses what is turned on: ``warm`` (``Settings.warm_sessions``: the ML stack imported ahead) or
``shared`` (``serve.shared: true`` added to a copy of the assignment: one serve session for its
suites and harnesses). Prints each phase's wall time as the report records it (medians), each
grading's total, and last ``ratio = on/off`` of the median totals (``warm/cold`` for warm).

``--cohort ID`` grades a mixed cohort of the assignment (``--copies`` of each: its floor baseline,
its strongest plain baseline, its reference, and its starter bundle, whose stubs raise) through
``grader.worker.WorkerPool`` over a fresh SQLite store, as many gradings at once as the pool
sizes for this host, and prints gradings per hour per host.

The machine is shared: note ``uptime`` beside the figures, and compare only figures of one run.

    .venv/bin/python bench/grading_wall.py --assignment fraud_detection [--rounds 2]
        [--switch warm|shared]
    .venv/bin/python bench/grading_wall.py --cohort fraud_detection [--copies 1]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from datetime import timedelta
from pathlib import Path

from grader.authoring import find_assignment
from grader.jobs.grading import GradingRequest, grade_request
from grader.report import Report
from grader.settings import Settings
from grader.spec import Assignment
from grader.store import (
    Database,
    JobState,
    accept_submission,
    create_invite,
    jobs_for_submission,
    migrate,
)
from grader.worker import WorkerPool, max_concurrency, submissions_root

REFERENCE = "reference"
SERVE_SHARED = "    shared: true\n"


def _settings(data_dir: Path, assignments_dir: Path, *, warm: bool = True) -> Settings:
    # The demo instance: the committed public data, no instance data to generate per run.
    return Settings(data_dir=data_dir, assignments_dir=assignments_dir, demo=True,
                    warm_sessions=warm)


def _shared_copy(assignments_dir: Path, assignment_id: str, into: Path) -> Path:
    """A copy of the assignment with ``serve.shared: true``; returns the copy's parent."""
    folder = into / assignment_id
    shutil.copytree(assignments_dir / assignment_id, folder)
    spec = folder / "assignment.yaml"
    lines = spec.read_text().splitlines(keepends=True)
    serve = next(i for i, line in enumerate(lines) if line.startswith("  serve:"))
    if any(line.strip() == SERVE_SHARED.strip() for line in lines):
        raise SystemExit(f"{assignment_id} shares its serve session already: nothing to compare")
    lines.insert(serve + 1, SERVE_SHARED)
    spec.write_text("".join(lines))
    return into


def _grade(settings: Settings, assignment_id: str, result_dir: Path) -> tuple[float, Report]:
    request = GradingRequest(job_id=0, attempt=1, submission_id=0, assignment_id=assignment_id,
                             submission_dir=result_dir, sha256="0" * 64,
                             result_path=result_dir / "result.json", settings={},
                             baseline=REFERENCE)
    started = time.perf_counter()
    report = grade_request(request, settings)
    return time.perf_counter() - started, report


def one_assignment(assignment_id: str, *, rounds: int, switch: str, assignments_dir: Path
                   ) -> None:
    with tempfile.TemporaryDirectory(prefix="grading-wall-") as tmp:
        root = Path(tmp)
        if switch == "warm":
            ways = {"cold": _settings(root / "data", assignments_dir, warm=False),
                    "warm": _settings(root / "data", assignments_dir, warm=True)}
        else:
            shared = _shared_copy(assignments_dir, assignment_id, root / "shared")
            ways = {"separate": _settings(root / "data", assignments_dir),
                    "shared": _settings(root / "data", shared)}
        off, on = ways
        totals: dict[str, list[float]] = defaultdict(list)
        phases: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        scores: dict[str, set[float | None]] = defaultdict(set)
        for round_ in range(rounds):
            for way, settings in ways.items():
                seconds, report = _grade(settings, assignment_id, root)
                totals[way].append(seconds)
                scores[way].add(report.total)
                for phase in report.phases:
                    phases[phase.name][way].append(phase.wall_seconds)
                print(f"round {round_ + 1} {way:>8}: {seconds:7.1f} s  {report.message}",
                      flush=True)
        print(f"\n{assignment_id} reference, {rounds} rounds each; {os.cpu_count()} CPUs; "
              f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'phase (report wall_seconds, median)':<58}{off:>10}{on:>10}")
        for name, ways_seen in phases.items():
            cells = "".join(f"{statistics.median(ways_seen[w]):10.1f}" if ways_seen.get(w)
                            else f"{'-':>10}" for w in (off, on))
            print(f"{name[:57]:<58}{cells}")
        print(f"{'whole grading':<58}{statistics.median(totals[off]):10.1f}"
              f"{statistics.median(totals[on]):10.1f}")
        if scores[off] != scores[on]:
            print(f"scores differ: {off} {scores[off]}, {on} {scores[on]}")
        print(f"ratio = {on}/{off} = "
              f"{statistics.median(totals[on]) / statistics.median(totals[off]):.2f}")


def _cohort(assignment: Assignment, folder: Path) -> dict[str, Path]:
    """Floor, the strongest plain baseline, the reference, and the starter's stubs (a crash)."""
    anchored = [anchor.baseline for component in assignment.rubric
                if component.scale is not None for anchor in component.scale.anchors]
    floor, *plain = [name for name in dict.fromkeys(anchored) if name != REFERENCE]
    return {f"floor ({floor})": folder / assignment.baseline(floor).path,
            f"plain ({plain[-1]})": folder / assignment.baseline(plain[-1]).path,
            "reference": folder / assignment.baseline(REFERENCE).path,
            "crash (starter stubs)": folder / assignment.candidate.bundle}


def cohort(assignment_id: str, *, copies: int, assignments_dir: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="grading-cohort-") as tmp:
        settings = _settings(Path(tmp) / "data", assignments_dir)
        assignment, folder = find_assignment(assignments_dir, assignment_id,
                                             ceiling=settings.limits)
        db = Database(settings.resolved_database_url())
        migrate(db)
        with db.write() as session:
            invite, _ = create_invite(session, assignment_id=assignment_id, cohort="bench",
                                      label="", allowance=10_000, valid_for=timedelta(days=1),
                                      created_by="bench")
            invite_id = invite.id
        submitted: dict[int, str] = {}
        for _ in range(copies):
            for kind, source in _cohort(assignment, folder).items():
                files_dir = uuid.uuid4().hex
                shutil.copytree(source, submissions_root(settings) / files_dir)
                submission = accept_submission(db, invite_id=invite_id, sha256="0" * 64,
                                               size_bytes=1, files_dir=files_dir)
                submitted[submission.id] = kind
        slots = max_concurrency(settings)
        started = time.perf_counter()
        pool = WorkerPool(settings, db, anchors=False).start()
        try:
            while True:
                with db.read() as session:
                    jobs = {sid: jobs_for_submission(session, sid)[-1] for sid in submitted}
                if all(job.state in (JobState.DONE, JobState.ERRORED) for job in jobs.values()):
                    break
                time.sleep(1)
        finally:
            pool.stop()
        seconds = time.perf_counter() - started
        db.dispose()
        for sid, kind in submitted.items():
            print(f"{kind:<28}{jobs[sid].state:>10}")
        print(f"\n{len(submitted)} gradings of {assignment_id} in {seconds:.0f} s, {slots} at "
              f"once; {os.cpu_count()} CPUs; load "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"gradings per hour per host = {len(submitted) * 3600 / seconds:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--assignment", metavar="ID", help="its reference, a switch off and on")
    mode.add_argument("--cohort", metavar="ID", help="a mixed cohort through the worker pool")
    parser.add_argument("--rounds", type=int, default=2, help="gradings each way")
    parser.add_argument("--switch", choices=("warm", "shared"), default="warm")
    parser.add_argument("--copies", type=int, default=1, help="of each cohort submission")
    parser.add_argument("--assignments-dir", type=Path,
                        default=Settings.model_fields["assignments_dir"].default)
    args = parser.parse_args()
    if args.assignment:
        one_assignment(args.assignment, rounds=args.rounds, switch=args.switch,
                       assignments_dir=args.assignments_dir.resolve())
    else:
        cohort(args.cohort, copies=args.copies, assignments_dir=args.assignments_dir.resolve())


if __name__ == "__main__":
    main()
