"""How long `grader --help` takes, beside a bare `python -c pass` measured in the same run, so the
ratio says what the CLI adds on this host however busy it is. The goal is under 0.5 s: the CLI
imports only typer and rich up front, and each command imports the core when it runs.

Each command runs --runs times, alternating, as a fresh process (no warm interpreter to hide
imports); prints the median and the best wall seconds of each, and the ratio of the medians.

    .venv/bin/python bench/cli_startup.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

GRADER = Path(sys.executable).with_name("grader")
COMMANDS = {"python -c pass": [sys.executable, "-c", "pass"],
            "grader --help": [str(GRADER), "--help"]}


def _seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="runs of each command")
    runs = parser.parse_args().runs
    if not GRADER.exists():
        sys.exit(f"{GRADER} is missing: run this with the venv's python, where the grader is "
                 "installed (`bash scripts/setup.sh`)")
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):
        for name, command in COMMANDS.items():
            times[name].append(_seconds(command))
    for name, measured in times.items():
        print(f"{name:16} median {statistics.median(measured):.3f} s  best "
              f"{min(measured):.3f} s  ({runs} runs)")
    ratio = statistics.median(times["grader --help"]) / statistics.median(times["python -c pass"])
    print(f"grader --help / python -c pass: {ratio:.1f}x")


if __name__ == "__main__":
    main()
