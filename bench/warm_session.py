"""How fast does a warm session open, against a cold one?

For each runtime the engine has (runc, and runsc when registered), ``--runs`` times each,
interleaved across runtimes and kinds, after one unmeasured warm-up of each, over a solution.py
that imports torch and scikit-learn (bench/sandbox_overhead.py's realistic phase):

cold       ``open_session`` of a spec with ``preload=()``: container start, then the solution's own imports, until
           the session is ready (``__ready__`` answered);
warm       ``start_session`` (the default ``preload``), waited until the agent has imported the
           stack (the pre-start, which a grading overlaps with the previous phase), then
           ``open()`` until ready: the open a pre-started session costs a phase;
unhidden   ``open_session`` with the spec's default ``preload``: a warm session nobody started ahead,
           whose pre-import the phase waits for (about a cold open).

Each session then calls ``train(steps=1)``, which reports how long the solution's own imports
took inside the container. Prints medians (min-max), the goal (a pre-started warm open under
0.5 s), the load average before and after, and a last line ``ratio = warm/cold`` (the larger of
the runtimes' ratios of median opens).

    .venv/bin/python bench/warm_session.py [--runs 5] [--image TAG] [--runtime runc ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from sandbox_overhead import (
    DEFAULT_IMAGE,
    REALISTIC_SOLUTION,
    RUNTIMES,
    print_rows,
    write_submission,
)

import sandbox
from sandbox import Limits

GOAL_WARM_OPEN_SECONDS = 0.5
WARM_WAIT_SECONDS = 300.0

Marks = dict[str, dict[str, list[float]]]  # row -> runtime -> seconds


def cold(image: str, submission: Path, limits: Limits, marks: Marks, runtime: str) -> None:
    started = time.perf_counter()
    with sandbox.open_session(sandbox.SessionSpec(image=image, limits=limits,
                                                  submission=submission,
                                                  call_timeout=limits.timeout,
                                                  preload=())) as session:
        marks["cold open"][runtime].append(time.perf_counter() - started)
        inside = session.call("train", steps=1)
    marks["  solution's own imports, cold"][runtime].append(inside["import_seconds"])


def warm(image: str, submission: Path, limits: Limits, marks: Marks, runtime: str) -> None:
    started = time.perf_counter()
    with sandbox.start_session(sandbox.SessionSpec(image=image, limits=limits,
                                                   submission=submission,
                                                   call_timeout=limits.timeout)) as pending:
        imported = pending.wait_warm(WARM_WAIT_SECONDS)
        assert imported is not None and "torch" in imported, imported
        marks["warm: pre-start until the stack is imported"][runtime].append(
            time.perf_counter() - started)
        opening = time.perf_counter()
        with pending.open() as session:
            marks["warm open (pre-started)"][runtime].append(time.perf_counter() - opening)
            inside = session.call("train", steps=1)
    marks["  solution's own imports, warm"][runtime].append(inside["import_seconds"])


def unhidden(image: str, submission: Path, limits: Limits, marks: Marks, runtime: str) -> None:
    started = time.perf_counter()
    with sandbox.open_session(sandbox.SessionSpec(image=image, limits=limits,
                                                  submission=submission,
                                                  call_timeout=limits.timeout)):
        marks["warm, not pre-started: open"][runtime].append(time.perf_counter() - started)


KINDS = (cold, warm, unhidden)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs of each (5)")
    parser.add_argument("--image", default=os.environ.get("GRADER_RUNNER_IMAGE", DEFAULT_IMAGE),
                        help="runner image (default: $GRADER_RUNNER_IMAGE or %(default)s)")
    parser.add_argument("--runtime", action="append", choices=RUNTIMES, dest="runtimes",
                        help="a runtime to measure; repeat for both (default: each the engine has)")
    args = parser.parse_args(argv)
    registered = set(sandbox.engine_client().info().get("Runtimes") or {})
    runtimes = [r for r in (args.runtimes or RUNTIMES) if r in registered]
    if not runtimes:
        raise SystemExit("no runtime to measure")

    load_before = os.getloadavg()
    limits = {r: Limits(timeout=300, runtime=r) for r in runtimes}  # default 4g, 2 cpus
    marks: Marks = defaultdict(lambda: defaultdict(list))
    with tempfile.TemporaryDirectory(prefix="bench-warm-") as tmp:
        ml = write_submission(Path(tmp), "realistic", REALISTIC_SOLUTION)
        for runtime in runtimes:  # warm-ups: image layers, page cache, the runtime's caches
            for kind in KINDS:
                kind(args.image, ml, limits[runtime], defaultdict(lambda: defaultdict(list)),
                     runtime)
        for _ in range(args.runs):
            for runtime in runtimes:
                for kind in KINDS:
                    kind(args.image, ml, limits[runtime], marks, runtime)

    print(f"image: {args.image}; {args.runs} runs of each, interleaved; medians (min-max); "
          f"a solution.py importing torch and scikit-learn")
    print_rows(runtimes, list(marks.items()))
    ratios = {}
    for runtime in runtimes:
        opened = statistics.median(marks["warm open (pre-started)"][runtime])
        ratios[runtime] = opened / statistics.median(marks["cold open"][runtime])
        verdict = "met" if opened < GOAL_WARM_OPEN_SECONDS else "NOT met"
        print(f"  {runtime}: warm open {opened:.3f} s; goal: < {GOAL_WARM_OPEN_SECONDS} s "
              f"({verdict})")
    print("load average (1, 5, 15 min): before " + ", ".join(f"{x:.2f}" for x in load_before)
          + "; after " + ", ".join(f"{x:.2f}" for x in os.getloadavg()))
    worst = max(ratios, key=ratios.__getitem__)
    detail = ", ".join(f"{r} {v:.3f}" for r, v in ratios.items())
    print(f"ratio = warm/cold = {ratios[worst]:.3f} (median opens; {detail})")


if __name__ == "__main__":
    main()
