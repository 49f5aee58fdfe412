"""What gVisor's platform costs, measured without the Docker engine: OCI runtimes run directly on a
bundle holding a read-only copy of the runner image's file system, interleaved (each round runs
every runtime once, in the order given).

Inside, one Python process measures what an ML phase spends its system calls on: importing torch
and scikit-learn, a no-op futex wake (what libgomp's barriers make twice per OpenMP region, and
what each system call costs the platform), and a short HistGradientBoosting fit (the
fraud_detection reference's hot path). Prints each runtime's medians and the load, then last
``ratio = LAST/FIRST`` of the median fit times (the first runtime given is the baseline).

A runtime is ``runc`` or ``PATH:PLATFORM`` for a runsc binary (``/usr/bin/runsc:ptrace``), so a
candidate runsc can be measured before it is installed. Needs root (the runtimes create
namespaces) and the image built.

    sudo .venv/bin/python bench/syscall_cost.py --runtime runc --runtime /usr/bin/runsc:ptrace \
        --runtime /tmp/runsc-new:systrap [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

# Two threads, as a grading's default limits allow; MKL_DYNAMIC as the sandbox sets it, so the
# thread count is the same whatever number of CPUs the runtime shows.
THREAD_ENV = ["OMP_NUM_THREADS=2", "MKL_NUM_THREADS=2", "OPENBLAS_NUM_THREADS=2",
              "MKL_DYNAMIC=FALSE"]

PROBE = r"""
import ctypes, json, time
started = time.perf_counter()
import torch, sklearn
imported = time.perf_counter() - started

libc = ctypes.CDLL(None, use_errno=True)
word = ctypes.c_int(0)
calls = 20000
started = time.perf_counter()
for _ in range(calls):
    libc.syscall(202, ctypes.byref(word), 129, 1, None, None, 0)  # FUTEX_WAKE_PRIVATE, no waiter
futex_us = (time.perf_counter() - started) / calls * 1e6

from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
x, y = make_classification(n_samples=20000, n_features=20, random_state=0)
started = time.perf_counter()
HistGradientBoostingClassifier(max_iter=100, early_stopping=False, random_state=0).fit(x, y)
fit = time.perf_counter() - started
print(json.dumps({"import_s": imported, "futex_us": futex_us, "fit_s": fit}))
"""


def _export_rootfs(image: str, into: Path) -> None:
    name = f"bench-syscall-cost-{os.getpid()}"
    subprocess.run(["docker", "create", "--name", name, image, "true"], check=True,
                   capture_output=True)
    try:
        export = subprocess.Popen(["docker", "export", name], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(into)], stdin=export.stdout, check=True)
        if export.wait() != 0:
            raise SystemExit(f"docker export of {image} failed")
    finally:
        subprocess.run(["docker", "rm", name], check=True, capture_output=True)


def _bundle(image: str, bundle: Path) -> None:
    env = json.loads(subprocess.run(
        ["docker", "image", "inspect", image, "--format", "{{json .Config.Env}}"],
        check=True, capture_output=True, text=True).stdout)
    (bundle / "rootfs").mkdir()
    _export_rootfs(image, bundle / "rootfs")
    subprocess.run(["runc", "spec", "--bundle", str(bundle)], check=True)
    config = json.loads((bundle / "config.json").read_text())
    config["process"].update(terminal=False, args=["python3", "-c", PROBE], env=env + THREAD_ENV,
                             cwd="/tmp", user={"uid": 10001, "gid": 10001})
    config["root"]["readonly"] = True
    config["mounts"].append({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs",
                             "options": ["nosuid", "nodev", "size=512m"]})
    (bundle / "config.json").write_text(json.dumps(config))


def _command(runtime: str, state: Path) -> list[str]:
    if runtime == "runc":
        return ["runc", "--root", str(state)]
    path, _, platform = runtime.partition(":")
    if not platform:
        raise SystemExit(f"runtime {runtime!r}: give runc or PATH:PLATFORM (/usr/bin/runsc:ptrace)")
    return [path, "--root", str(state), "--network=none", f"--platform={platform}"]


def _run(runtime: str, bundle: Path, state: Path, round_: int) -> dict[str, float]:
    container = f"bench-syscall-cost-{os.getpid()}-{round_}"
    started = time.perf_counter()
    done = subprocess.run([*_command(runtime, state), "run", "--bundle", str(bundle), container],
                          capture_output=True, text=True, timeout=900)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{runtime} failed ({done.returncode}): {done.stderr[-2000:]}")
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": wall}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runtime", action="append", required=True,
                        help="runc or PATH:PLATFORM of a runsc binary; the first is the baseline")
    parser.add_argument("--image", default="ml-grader-runner:latest")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the OCI runtimes create the sandbox's namespaces")
    scratch = Path(tempfile.mkdtemp(prefix="bench-syscall-cost-"))
    try:
        bundle, state = scratch / "bundle", scratch / "state"
        bundle.mkdir()
        state.mkdir()
        _bundle(args.image, bundle)
        results: dict[str, list[dict[str, float]]] = {runtime: [] for runtime in args.runtime}
        for round_ in range(args.rounds):
            for runtime in args.runtime:
                results[runtime].append(_run(runtime, bundle, state, round_))
                print(f"round {round_ + 1} {runtime}: {results[runtime][-1]}", flush=True)
    finally:
        shutil.rmtree(scratch)
    print("load:", Path("/proc/loadavg").read_text().split()[:3])
    keys = ("futex_us", "import_s", "fit_s", "wall_s")
    print(f"{'runtime (median)':32}" + "".join(f"{key:>10}" for key in keys))
    medians = {runtime: {key: statistics.median(run[key] for run in runs) for key in keys}
               for runtime, runs in results.items()}
    for runtime, row in medians.items():
        print(f"{runtime:32}" + "".join(f"{row[key]:10.2f}" for key in keys))
    first, last = args.runtime[0], args.runtime[-1]
    print(f"ratio = {medians[last]['fit_s'] / medians[first]['fit_s']:.2f}")


if __name__ == "__main__":
    main()
