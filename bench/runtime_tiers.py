"""What the gVisor tier costs on a whole grading: one assignment's reference graded under runc and
under runsc, interleaved (runc, runsc, runc, runsc, ...).

Each grading goes through the grading children's own entry point
(``grader.jobs.grading.grade_request``) with ``limits.runtime`` set for every phase, on the demo
instance. Prints each phase's wall and CPU seconds as the report records them (medians), each
grading's total, the scores (they must not differ), and last ``ratio = runsc/runc`` of the median
whole-grading times. The engine must have runsc registered (``scripts/setup.sh --with-gvisor``).

The machine is shared: note the load printed beside the figures, and compare only figures of one
run.

    .venv/bin/python bench/runtime_tiers.py [--assignment fraud_detection] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from grader.jobs.grading import GradingRequest, grade_request
from grader.settings import BUILT_IN_ASSIGNMENTS, Settings

RUNTIMES = ("runc", "runsc")


def _grade(settings: Settings, assignment_id: str, scratch: Path):
    request = GradingRequest(job_id=0, attempt=1, submission_id=0, assignment_id=assignment_id,
                             submission_dir=scratch, sha256="0" * 64,
                             result_path=scratch / "result.json", settings={},
                             baseline="reference")
    started = time.perf_counter()
    report = grade_request(request, settings)
    return time.perf_counter() - started, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assignment", default="fraud_detection")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--assignments-dir", type=Path, default=BUILT_IN_ASSIGNMENTS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="runtime-tiers-") as tmp:
        root = Path(tmp)
        tiers = {runtime: Settings(data_dir=root / "data", assignments_dir=args.assignments_dir,
                                   demo=True, limits={"runtime": runtime})
                 for runtime in RUNTIMES}
        totals: dict[str, list[float]] = defaultdict(list)
        walls: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        cpus: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        scores: dict[str, set[float | None]] = defaultdict(set)
        for round_ in range(args.rounds):
            for runtime, settings in tiers.items():
                seconds, report = _grade(settings, args.assignment, root)
                totals[runtime].append(seconds)
                scores[runtime].add(report.total)
                for phase in report.phases:
                    walls[phase.name][runtime].append(phase.wall_seconds)
                    if phase.cpu_seconds is not None:
                        cpus[phase.name][runtime].append(phase.cpu_seconds)
                print(f"round {round_ + 1} {runtime:>5}: {seconds:7.1f} s  "
                      f"status {report.status.value}  total {report.total}", flush=True)
        print(f"\n{args.assignment} reference, {args.rounds} rounds each; {os.cpu_count()} CPUs; "
              f"load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        print(f"{'phase (median wall s / cpu s)':<46}" + "".join(f"{r:>16}" for r in RUNTIMES))
        for name, seen in walls.items():
            cells = "".join(
                f"{statistics.median(seen[r]):8.1f}/{_median(cpus[name][r]):>7}" if seen.get(r)
                else f"{'-':>16}" for r in RUNTIMES)
            print(f"{name[:45]:<46}{cells}")
        print(f"{'whole grading':<46}"
              + "".join(f"{statistics.median(totals[r]):16.1f}" for r in RUNTIMES))
        if scores["runc"] != scores["runsc"]:
            print(f"scores differ: runc {scores['runc']}, runsc {scores['runsc']}")
        print(f"ratio = runsc/runc = "
              f"{statistics.median(totals['runsc']) / statistics.median(totals['runc']):.2f}")


def _median(values: list[float]) -> str:
    return f"{statistics.median(values):.1f}" if values else "-"


if __name__ == "__main__":
    main()
