"""How much does one sandbox phase cost over a bare ``docker run``?

Measures, ``--runs`` times each (interleaved, after one unmeasured warm-up of each):

(a) ``docker run --rm IMAGE python3 -c pass`` through the docker CLI, and
(b) one full sandbox phase: ``open_session`` over a submission whose solution.py has
    ``def noop(): return None``, one ``session.call("noop")``, then close and removal.

Prints the medians, their ratio and the goal (ratio <= 1.5). ``--profile`` also times each engine
call of (b) and the agent's import, to show where the time goes.

    .venv/bin/python bench/sandbox_overhead.py [--runs 10] [--image TAG] [--profile]
"""

from __future__ import annotations

import argparse
import functools
import os
import statistics
import subprocess
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sandbox
from sandbox import Limits

GOAL_RATIO = 1.5
DEFAULT_IMAGE = "ml-grader-runner:latest"
# The engine calls one phase makes; --profile times each of them.
ENGINE_CALLS = ("create_host_config", "create_container", "attach_socket", "start", "kill",
                "wait", "inspect_container", "remove_container")


def bare_docker_run(image: str) -> float:
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", image, "python3", "-c", "pass"], check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def sandbox_phase(image: str, submission: Path, limits: Limits,
                  marks: dict[str, list[float]] | None = None) -> float:
    started = time.perf_counter()
    with sandbox.open_session(image=image, limits=limits, submission=submission) as session:
        ready = time.perf_counter()
        session.call("noop")
        called = time.perf_counter()
    ended = time.perf_counter()
    if marks is not None:
        marks["open_session (create..import)"].append(ready - started)
        marks["call noop"].append(called - ready)
        marks["close + removal"].append(ended - called)
    return ended - started


def time_engine_calls(marks: dict[str, list[float]]) -> None:
    """Wrap the engine client's methods so that each call's duration lands in ``marks``."""
    api = sandbox.engine_client().api
    for name in ENGINE_CALLS:
        method = getattr(api, name)

        def timed(*args: Any, _method: Callable[..., Any] = method, _name: str = name,
                  **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _method(*args, **kwargs)
            finally:
                marks[f"engine {_name}"].append(time.perf_counter() - started)

        setattr(api, name, functools.wraps(method)(timed))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs of each (default 10)")
    parser.add_argument("--image", default=os.environ.get("GRADER_RUNNER_IMAGE", DEFAULT_IMAGE),
                        help="runner image (default: $GRADER_RUNNER_IMAGE or %(default)s)")
    parser.add_argument("--profile", action="store_true", help="time each step of a phase")
    args = parser.parse_args()

    limits = Limits(memory="1g", timeout=60)
    marks: dict[str, list[float]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="bench-submission-") as tmp:
        submission = Path(tmp)
        submission.chmod(0o755)  # read by the container's non-root user
        (submission / "solution.py").write_text("def noop():\n    return None\n")

        bare_docker_run(args.image)  # warm-ups: image layers and the engine's caches
        sandbox_phase(args.image, submission, limits)
        if args.profile:
            time_engine_calls(marks)
        bare, phase = [], []
        for _ in range(args.runs):
            bare.append(bare_docker_run(args.image))
            phase.append(sandbox_phase(args.image, submission, limits,
                                       marks if args.profile else None))

    bare_median, phase_median = statistics.median(bare), statistics.median(phase)
    ratio = phase_median / bare_median
    print(f"image: {args.image}; {args.runs} runs each, medians (min-max)")
    print(f"  (a) docker run --rm IMAGE python3 -c pass   {bare_median:.3f} s "
          f"({min(bare):.3f}-{max(bare):.3f})")
    print(f"  (b) sandbox phase: open, call noop, close   {phase_median:.3f} s "
          f"({min(phase):.3f}-{max(phase):.3f})")
    verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
    print(f"  ratio (b)/(a) = {ratio:.2f}; goal: ratio <= {GOAL_RATIO} ({verdict})")
    if args.profile:
        print("where a phase's time goes (steps: median; engine calls: mean total per run):")
        for name, values in marks.items():
            per_run = sum(values) / args.runs if name.startswith("engine") else None
            shown = per_run if per_run is not None else statistics.median(values)
            calls = f" x{len(values) / args.runs:g}" if name.startswith("engine") else ""
            print(f"  {name:<32}{shown * 1000:8.1f} ms{calls}")


if __name__ == "__main__":
    main()
