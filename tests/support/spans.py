"""A stand-in grading that records when it ran, for tests of how many gradings run at once.

Each grading child writes its span (start, end, assignment) to the folder named by the
environment variable ``SPANS_DIR``. ``# gather: N`` in solution.py makes it wait (at most 30 s)
until N gradings have started, so that gradings meant to run together overlap however slowly
their child processes start on a loaded host; ``# sleep: S`` then holds it S more seconds.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from grader.jobs.grading import GradingRequest
from grader.report import Report
from grader.settings import Settings
from support.fakes import directives, fake_report


def spans_grade(request: GradingRequest, settings: Settings) -> Report:
    folder = Path(os.environ["SPANS_DIR"])
    wanted = directives(request)
    start = time.time()
    (folder / f"{request.submission_id}.started").touch()
    deadline = start + 30
    while (len(list(folder.glob("*.started"))) < wanted.get("gather", 0)
           and time.time() < deadline):
        time.sleep(0.05)
    time.sleep(wanted.get("sleep", 0.0))
    span = {"start": start, "end": time.time(), "assignment": request.assignment_id}
    (folder / f"{request.submission_id}.json").write_text(json.dumps(span))
    return fake_report(50.0, request.sha256)


def read_spans(folder: Path) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def peak(spans: list[dict], weight: dict[str, float]) -> float:
    """The most CPUs (each span weighing its assignment's) held at any one moment."""
    events = sorted([(span["start"], weight[span["assignment"]]) for span in spans]
                    + [(span["end"], -weight[span["assignment"]]) for span in spans],
                    key=lambda event: (event[0], event[1]))  # an end before a start at a tie
    held = highest = 0.0
    for _moment, change in events:
        held += change
        highest = max(highest, held)
    return highest
