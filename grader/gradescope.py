"""A graded report as Gradescope's autograder ``results.json``, for course tools that read it.

The fields follow Gradescope's "Autograder Specifications", section "Output format"
(https://gradescope-autograders.readthedocs.io/en/latest/specs/):

- top level: ``score`` (required unless every test has one), ``execution_time`` (seconds),
  ``output`` (text shown with the results), ``visibility``, ``extra_data`` (stored, not shown) and
  ``tests``; ``stdout_visibility`` is left out, as the grader's stdout is not Gradescope's;
- each test: ``name``, ``score`` and ``max_score`` (optional), ``status`` ("passed" or
  "failed"), ``output`` and ``visibility``;
- visibility: "visible", "hidden" (never shown to students), "after_due_date" or
  "after_published" (once the instructor publishes grades).

What a candidate sees follows the assignment's ``release`` policy, as ``Report.for_candidate``
does: a released field's visibility is when feedback reaches candidates (``immediately``:
visible; ``after_close``: after the due date; ``never``: once reviewers publish it), and
everything else is hidden. A hidden test's name and message are never released (a candidate sees
only how many passed), so their entries are always hidden. Integrity evidence and engineering
signals are reviewers' alone and never exported.
"""

from __future__ import annotations

from math import ceil
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from grader.report import Report
from grader.spec import Assignment, FeedbackRelease

__all__ = ["ExportError", "GradescopeResults", "GradescopeTest", "gradescope_results"]

Visibility = Literal["visible", "hidden", "after_due_date", "after_published"]
Status = Literal["passed", "failed"]

_WHEN_RELEASED: Final[dict[FeedbackRelease, Visibility]] = {
    "immediately": "visible", "after_close": "after_due_date", "never": "after_published"}


class ExportError(ValueError):
    """The report cannot be exported with this spec (it was graded on another assignment)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GradescopeTest(_Model):
    name: str
    score: float | None = Field(None, description="none (left out) for a hidden test: the "
                                                  "rubric's tests component scores the suite")
    max_score: float | None = None
    status: Status
    output: str
    visibility: Visibility


class GradescopeResults(_Model):
    score: float
    execution_time: int = Field(description="seconds, the container phases' wall time")
    output: str
    visibility: Visibility = Field(description="of the whole result, the total's release")
    extra_data: dict[str, Any]
    tests: list[GradescopeTest]


def _visibility(assignment: Assignment, field: str) -> Visibility:
    release = assignment.release
    return _WHEN_RELEASED[release.feedback] if field in release.candidate_fields else "hidden"


def _output(report: Report) -> str:
    # The message and the failure are written for the candidate (``Report.for_candidate``
    # always releases them), so the text shown with the results may carry them.
    if report.failure is None:
        return report.message
    return f"{report.message}\n\n{report.failure.model_dump_json(indent=2)}"


def gradescope_results(report: Report, assignment: Assignment) -> GradescopeResults:
    """``report`` in Gradescope's shape, visible to candidates as ``assignment`` releases it."""
    graded_on = report.reproduction.assignment_id
    if graded_on != assignment.id:
        raise ExportError(f"the report was graded on assignment {graded_on!r}, not "
                          f"{assignment.id!r}: export it with its own assignment's spec")
    code_failed = report.failure is not None
    components = _visibility(assignment, "components")
    tests = [GradescopeTest(
        name=c.title, score=c.points, max_score=c.weight,
        # Gradescope's own reading of a score: passed at full marks. Code that failed
        # passed nothing, whatever a component was given for it.
        status="passed" if c.points >= c.weight and not code_failed else "failed",
        output=c.reason, visibility=components) for c in report.components]
    tests += [GradescopeTest(
        name=f"{t.suite}::{t.name}", status="passed" if t.outcome == "passed" else "failed",
        output=f"{t.outcome}: {t.message}" if t.message else t.outcome, visibility="hidden")
        for t in report.hidden_tests]
    repro = report.reproduction
    return GradescopeResults(
        score=report.total or 0.0,
        execution_time=ceil(sum(p.wall_seconds for p in report.phases)),
        output=_output(report),
        visibility=_visibility(assignment, "total"),
        extra_data={
            "report_status": report.status.value, "code_failed": code_failed,
            "total_interval": report.total_interval,
            "metrics": {m.name: m.value for m in report.metrics},
            "assignment_id": repro.assignment_id, "assignment_version": repro.assignment_version,
            "assignment_sha256": repro.assignment_sha256,
            "submission_sha256": repro.submission_sha256, "instance_id": repro.instance_id,
            "grader_version": repro.grader_version, "graded_at": report.graded_at.isoformat()},
        tests=tests)
