"""A stand-in grading for the webhook tests: the fast fake (support.fakes), plus a report whose
code failed when the submission's solution.py says ``# code-fails: 1``."""

from __future__ import annotations

from grader.jobs.grading import GradingRequest
from grader.outcomes import CodeFailure, FailureKind
from grader.report import Report
from grader.settings import Settings
from support.fakes import directives, fast_grade


def grade_or_fail(request: GradingRequest, settings: Settings) -> Report:
    report = fast_grade(request, settings)
    if not directives(request).get("code-fails"):
        return report
    return report.model_copy(update={"failure": CodeFailure(
        kind=FailureKind.EXCEPTION, phase="build",
        summary="Your code raised ValueError in train().", exception_type="ValueError")})
