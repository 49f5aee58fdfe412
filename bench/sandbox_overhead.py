"""How much does one sandbox phase cost over a bare ``docker run``, under runc and under gVisor?

For each runtime the engine has (runc, and runsc when registered), measures ``--runs`` times each
(interleaved across runtimes, after one unmeasured warm-up of each):

(a) ``docker run --rm [--runtime=runsc] IMAGE python3 -c pass`` through the docker CLI, and
(b) one full sandbox phase: ``open_session`` over a submission whose solution.py has
    ``def noop(): return None``, one ``session.call("noop")``, then close and removal.

and ``--realistic-runs`` times:

(c) a realistic phase: a solution.py that imports torch and scikit-learn, then one call that
    trains a tiny torch linear model for a few steps and fits a small scikit-learn model on
    random data; close and removal included.

Prints the runtimes side by side: medians (min-max), (b)/(a) against the goal (<= 1.5) and the
runsc/runc ratio of each row, so a deployment can choose its isolation tier knowingly.
``--profile`` also times each engine call of (b) and the agent's import, to show where the time
goes.

    .venv/bin/python bench/sandbox_overhead.py [--runs 10] [--realistic-runs 3] [--image TAG]
        [--runtime runc --runtime runsc] [--profile]
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
RUNTIMES = ("runc", "runsc")
# The engine calls one phase makes; --profile times each of them.
ENGINE_CALLS = ("create_host_config", "create_container", "attach_socket", "start", "kill",
                "wait", "inspect_container", "remove_container")

NOOP_SOLUTION = "def noop():\n    return None\n"

# What a typical ML submission does first: import its stack, then train a little. The times it
# reports are read inside the container (and so are only indicative under gVisor's clock).
REALISTIC_SOLUTION = '''\
import time

_started = time.perf_counter()
import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

IMPORT_SECONDS = time.perf_counter() - _started


def train(steps=20):
    started = time.perf_counter()
    torch.manual_seed(0)
    x, y = torch.randn(512, 32), torch.randn(512, 1)
    model = torch.nn.Linear(32, 1)
    optimiser = torch.optim.SGD(model.parameters(), lr=0.05)
    for _ in range(steps):
        optimiser.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimiser.step()
    rng = np.random.default_rng(0)
    features = rng.normal(size=(512, 16))
    labels = (features[:, 0] > 0).astype(int)
    accuracy = LogisticRegression(max_iter=200).fit(features, labels).score(features, labels)
    return {"import_seconds": IMPORT_SECONDS, "train_seconds": time.perf_counter() - started,
            "loss": float(loss), "accuracy": float(accuracy)}
'''


def bare_docker_run(image: str, runtime: str) -> float:
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", f"--runtime={runtime}", image, "python3", "-c",
                    "pass"], check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def sandbox_phase(image: str, submission: Path, limits: Limits,
                  marks: dict[str, list[float]] | None = None) -> float:
    started = time.perf_counter()
    with sandbox.open_session(sandbox.SessionSpec(image=image, limits=limits,
                                                  submission=submission)) as session:
        ready = time.perf_counter()
        session.call("noop")
        called = time.perf_counter()
    ended = time.perf_counter()
    if marks is not None:
        marks["open_session (create..import)"].append(ready - started)
        marks["call noop"].append(called - ready)
        marks["close + removal"].append(ended - called)
    return ended - started


def realistic_phase(image: str, submission: Path, limits: Limits,
                    marks: dict[str, list[float]]) -> float:
    started = time.perf_counter()
    # Cold: the phase imports its stack itself (bench/warm_session.py measures warm sessions).
    with sandbox.open_session(sandbox.SessionSpec(image=image, limits=limits,
                                                  submission=submission,
                                                  call_timeout=limits.timeout,
                                                  preload=())) as session:
        ready = time.perf_counter()
        inside = session.call("train")
        trained = time.perf_counter()
    ended = time.perf_counter()
    assert session.result is not None and session.result.ok, session.result
    marks["open: start + import torch, sklearn"].append(ready - started)
    marks["call: train (torch 20 steps, sklearn fit)"].append(trained - ready)
    marks["close + removal"].append(ended - trained)
    marks["inside: import seconds"].append(inside["import_seconds"])
    marks["inside: train seconds"].append(inside["train_seconds"])
    if session.result.peak_memory_bytes is not None:
        marks["peak memory, MiB"].append(session.result.peak_memory_bytes / 1024**2)
    return ended - started


class EngineTimer:
    """Wraps the engine client's methods so that each call's duration lands in ``self.marks``
    (set it to the current runtime's dict before a phase, None to stop recording)."""

    def __init__(self) -> None:
        self.marks: dict[str, list[float]] | None = None
        api = sandbox.engine_client().api
        for name in ENGINE_CALLS:
            setattr(api, name, self._wrap(getattr(api, name), name))

    def _wrap(self, method: Callable[..., Any], name: str) -> Callable[..., Any]:
        @functools.wraps(method)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return method(*args, **kwargs)
            finally:
                if self.marks is not None:
                    self.marks[f"engine {name}"].append(time.perf_counter() - started)

        return timed


def write_submission(root: Path, name: str, source: str) -> Path:
    path = root / name
    path.mkdir()
    path.chmod(0o755)  # read by the container's non-root user
    (path / "solution.py").write_text(source)
    return path


def cell(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.2f}-{max(values):.2f})"


def print_rows(runtimes: list[str], rows: list[tuple[str, dict[str, list[float]]]]) -> None:
    width = 25
    print(f"  {'':<44}" + "".join(f"{r:<{width}}" for r in runtimes)
          + ("runsc/runc" if len(runtimes) == 2 else ""))
    for label, by_runtime in rows:
        line = f"  {label:<44}" + "".join(f"{cell(by_runtime[r]):<{width}}" for r in runtimes)
        if len(runtimes) == 2:
            runc, runsc = (statistics.median(by_runtime[r]) for r in runtimes)
            line += f"x{runsc / runc:.2f}"
        print(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="measured runs of (a), (b) (10)")
    parser.add_argument("--realistic-runs", type=int, default=3,
                        help="measured runs of (c); 0 skips it (default 3)")
    parser.add_argument("--image", default=os.environ.get("GRADER_RUNNER_IMAGE", DEFAULT_IMAGE),
                        help="runner image (default: $GRADER_RUNNER_IMAGE or %(default)s)")
    parser.add_argument("--runtime", action="append", choices=RUNTIMES, dest="runtimes",
                        help="a runtime to measure; repeat for both (default: each the engine has)")
    parser.add_argument("--profile", action="store_true", help="time each step of a phase")
    args = parser.parse_args()

    registered = set(sandbox.engine_client().info().get("Runtimes") or {})
    runtimes = [r for r in (args.runtimes or RUNTIMES) if r in registered]
    missing = [r for r in (args.runtimes or RUNTIMES) if r not in registered]
    if missing:
        print(f"not registered with the engine, skipped: {', '.join(missing)} "
              "(`bash scripts/setup.sh --with-gvisor` registers runsc)")
    if not runtimes:
        raise SystemExit("no runtime to measure")

    phase_limits = {r: Limits(memory="1g", timeout=60, runtime=r) for r in runtimes}
    realistic_limits = {r: Limits(timeout=300, runtime=r) for r in runtimes}  # default 4g, 2 cpus
    bare: dict[str, list[float]] = defaultdict(list)
    phase: dict[str, list[float]] = defaultdict(list)
    realistic: dict[str, list[float]] = defaultdict(list)
    realistic_marks: dict[str, dict[str, list[float]]] = {r: defaultdict(list) for r in runtimes}
    profile_marks: dict[str, dict[str, list[float]]] = {r: defaultdict(list) for r in runtimes}
    timer = EngineTimer() if args.profile else None
    with tempfile.TemporaryDirectory(prefix="bench-submission-") as tmp:
        noop = write_submission(Path(tmp), "noop", NOOP_SOLUTION)
        ml = write_submission(Path(tmp), "realistic", REALISTIC_SOLUTION)
        for runtime in runtimes:  # warm-ups: image layers, the engine's and the runtime's caches
            bare_docker_run(args.image, runtime)
            sandbox_phase(args.image, noop, phase_limits[runtime])
            if args.realistic_runs:
                realistic_phase(args.image, ml, realistic_limits[runtime], defaultdict(list))
        for _ in range(args.runs):
            for runtime in runtimes:
                bare[runtime].append(bare_docker_run(args.image, runtime))
                marks = profile_marks[runtime] if args.profile else None
                if timer is not None:
                    timer.marks = marks
                phase[runtime].append(sandbox_phase(args.image, noop, phase_limits[runtime],
                                                    marks))
                if timer is not None:
                    timer.marks = None
        for _ in range(args.realistic_runs):
            for runtime in runtimes:
                realistic[runtime].append(realistic_phase(args.image, ml,
                                                          realistic_limits[runtime],
                                                          realistic_marks[runtime]))

    print(f"image: {args.image}; {args.runs} runs of (a) and (b), {args.realistic_runs} of (c), "
          "interleaved; medians (min-max)")
    print_rows(runtimes, [("(a) docker run --rm IMAGE python3 -c pass", bare),
                           ("(b) sandbox phase: open, call noop, close", phase)])
    for runtime in runtimes:
        ratio = statistics.median(phase[runtime]) / statistics.median(bare[runtime])
        verdict = "met" if ratio <= GOAL_RATIO else "NOT met"
        print(f"  {runtime}: ratio (b)/(a) = {ratio:.2f}; goal: ratio <= {GOAL_RATIO} ({verdict})")
    if args.realistic_runs:
        print("(c) realistic phase: import torch and scikit-learn, train a little "
              f"(limits: {realistic_limits[runtimes[0]].memory // 1024**3} GiB, "
              f"{realistic_limits[runtimes[0]].cpus:g} CPUs)")
        steps = list(realistic_marks[runtimes[0]])
        print_rows(runtimes, [("whole phase", realistic),
                               *((f"  {step}", {r: realistic_marks[r][step] for r in runtimes})
                                 for step in steps if "MiB" not in step)])
        for runtime in runtimes:
            peaks = realistic_marks[runtime].get("peak memory, MiB")
            if peaks:
                print(f"  {runtime}: peak memory of the container {statistics.median(peaks):.0f} "
                      "MiB (median)")
    if args.profile:
        print("where a phase's time goes (steps: median; engine calls: mean total per run):")
        for runtime in runtimes:
            print(f"  {runtime}")
            for name, values in profile_marks[runtime].items():
                engine = name.startswith("engine")
                shown = sum(values) / args.runs if engine else statistics.median(values)
                calls = f" x{len(values) / args.runs:g}" if engine else ""
                print(f"    {name:<32}{shown * 1000:8.1f} ms{calls}")


if __name__ == "__main__":
    main()
