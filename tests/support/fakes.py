"""A fast stand-in for the pipeline, for queue, web and load tests (GRADER_WORKER_GRADER).

It reads directives from the submission's solution.py, so each test says what it wants:

    # score: 87.5        the total (default 50)
    # sleep: 3           seconds to take
    # infra-fail: 2      raise InfrastructureError on attempts 1 and 2
    # crash: 1           the grading process dies (exit 3) on attempt 1
"""

from __future__ import annotations

import os
import re
import time
from typing import Any

from grader.jobs.grading import GradingRequest
from grader.pipeline import InfrastructureError
from grader.report import MetricResult, PhaseResult, Report, ReportStatus, Reproduction
from grader.scoring import ComponentScore
from grader.settings import Settings

_DIRECTIVE = re.compile(r"^#\s*([a-z-]+):\s*([0-9.]+)\s*$", re.MULTILINE)


def directives(request: GradingRequest) -> dict[str, float]:
    source = (request.submission_dir / "solution.py").read_text(errors="replace")
    return {name: float(value) for name, value in _DIRECTIVE.findall(source)}


def fast_grade(request: GradingRequest, settings: Settings) -> Report:
    wanted = directives(request)
    if request.attempt <= wanted.get("crash", 0):
        os._exit(3)
    if request.attempt <= wanted.get("infra-fail", 0):
        raise InfrastructureError(f"fake engine outage on attempt {request.attempt}")
    time.sleep(wanted.get("sleep", 0.0))
    return fake_report(wanted.get("score", 50.0), request.sha256)


def fake_report(total: float, sha256: str = "0" * 64, **extra: Any) -> Report:
    accuracy = round(total / 100, 4)
    return Report(
        status=ReportStatus.GRADED, message=f"Graded: {total:.1f} / 100.",
        assignment_title="Fake", total=total,
        components=[ComponentScore(id="accuracy", title="Accuracy", weight=100.0, points=total,
                                   fraction=total / 100, reason="fake")],
        metrics=[MetricResult(name="quality.accuracy", value=accuracy, higher_is_better=True,
                              baselines={"constant": 0.5, "reference": 1.0})],
        hidden_tests=[], phases=[PhaseResult(name="build", outcome="ok", message="",
                                             wall_seconds=0.1, cpu_seconds=0.1,
                                             peak_memory_bytes=1 << 20,
                                             log="SECRET-LOG-LINE")],
        reproduction=Reproduction(runner_image="fake", runner_image_digest=None,
                                  assignment_id="starter", assignment_version="0.1.0",
                                  assignment_sha256="0" * 64, submission_sha256=sha256,
                                  instance_id="fake", demo=False, public_data_sha256=None,
                                  seeds={}, limits={}), **extra)
