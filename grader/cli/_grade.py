"""`grader grade`: turn a submission zip into report.json and report.html."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape
from rich.table import Table

from grader.cli._output import abort, console, info, print_json

if TYPE_CHECKING:  # the core is imported where it is used, so `grader --help` stays quick
    from grader.outcomes import CodeFailure
    from grader.report import Report
    from grader.spec import Assignment

EXIT_GRADED, EXIT_REJECTED, EXIT_INFRASTRUCTURE = 0, 2, 3


def grade(
    submission: Path = typer.Argument(..., exists=True, dir_okay=False, help="the submission zip"),
    assignment_id: str = typer.Option(..., "--assignment", "-a", help="assignment id"),
    out: Path = typer.Option(Path("report"), "--out", help="folder for report.json and .html"),
    as_json: bool = typer.Option(False, "--json", help="print the report JSON"),
    demo: bool = typer.Option(False, "--demo", help="grade on the published seeds (the demo "
                              "instance every candidate can reproduce), not this deployment's "
                              "private instance; the report says so"),
) -> None:
    """Grade a submission zip on this deployment's instance (DATA_DIR's, shared with `grader
    serve`). Exit code: 0 graded, 2 rejected, 3 grader-side error."""
    assignment, folder = assignment_or_abort(assignment_id)
    grade_and_report(assignment, folder, submission, out=out, as_json=as_json, demo=demo)


def assignment_or_abort(assignment_id: str) -> tuple[Assignment, Path]:
    """The assignment and its folder, or exit with what is wrong (unknown id, invalid spec)."""
    from grader.authoring import AssignmentNotFound, find_assignment
    from grader.settings import get_settings
    from grader.spec import SpecError

    try:
        settings = get_settings()
        return find_assignment(settings.assignments_dir, assignment_id, ceiling=settings.limits)
    except (AssignmentNotFound, SpecError) as exc:
        abort(str(exc))


def grade_and_report(assignment: Assignment, folder: Path, submission: Path, *, out: Path,
                     as_json: bool, demo: bool = False) -> None:
    """Grade, write report.json and report.html, print, and exit with the outcome's code."""
    import sandbox
    from grader.anchors import anchors_for
    from grader.environment_fit import EnvironmentUnreadable, session_preload
    from grader.environments import grading_image_digest
    from grader.instance import InstanceError
    from grader.pipeline import InfrastructureError, grade_zip
    from grader.report import ReportStatus, write_report
    from grader.settings import get_settings

    settings = get_settings()
    if demo:
        settings = settings.model_copy(update={"demo": True})
    try:
        with console.status("grading") as status:

            def progress(step: str) -> None:
                status.update(step)
                info(step)

            status.update("preparing the instance's data")
            instance = settings.assignment_instance(assignment, folder)
            anchors = anchors_for(settings, assignment, folder, grading_image_digest(
                assignment, folder, runner_image=settings.runner_image))
            report = grade_zip(assignment=assignment, folder=folder, instance=instance,
                               zip_path=submission, runner_image=settings.runner_image,
                               ceiling=settings.limits, intake=settings.intake,
                               progress=progress, anchors=anchors,
                               preload=session_preload(settings, assignment, folder))
    except (InfrastructureError, InstanceError, sandbox.SandboxError, OSError,
            EnvironmentUnreadable) as exc:
        abort(f"grading could not run: {exc}", EXIT_INFRASTRUCTURE)
    if report.anchors is not None and report.anchors.provisional:
        info(f"the points are provisional: `grader assignment anchors {assignment.id}` measures "
             "this instance's baselines (then grade again)")
    if instance.demo:
        info("graded on the DEMO instance: its hidden data is public, so this score proves "
             "nothing about the candidate")
    for line in instance.exposure:
        info(f"readable from public code: {line}")
    json_path, html_path = write_report(report, out)
    if as_json:
        print_json(report)
    else:
        _summary(report)
        info(f"wrote {json_path} and {html_path}")
    if report.status is ReportStatus.REJECTED:
        raise typer.Exit(EXIT_REJECTED)


def _summary(report: Report) -> None:
    console.print(report.message)
    if report.total_interval is not None:
        low, high = report.total_interval
        console.print(f"95% interval of the total over the hidden items: {low:.1f} to {high:.1f}")
    elif report.unbounded:
        console.print(f"no 95% interval of the total: {'; '.join(report.unbounded)}")
    table = Table("component", "points", "weight", "why")
    for component in report.components:
        table.add_row(component.title, f"{component.points:.2f}", str(component.weight),
                      component.reason)
    if report.components:
        console.print(table)
    phases = Table("phase", "outcome", "wall s", "peak MiB", "saved MiB")
    for phase in report.phases:
        peak, saved = phase.peak_memory_bytes, phase.work_bytes
        phases.add_row(phase.name, phase.verdict, f"{phase.wall_seconds:.1f}",
                       f"{peak / 2**20:.0f}" if peak is not None else "?",
                       f"{saved / 2**20:.1f}" if saved is not None else "")
    if report.phases:
        console.print(phases)
    if report.failure is not None:
        _failure(report.failure)


def _failure(failure: CodeFailure) -> None:
    """The candidate's failure as they would read it: what, where in their files, their output."""
    console.print(f"[bold]The submission's code failed:[/bold] {escape(failure.summary)}",
                  highlight=False)
    if failure.exception_type:
        console.print(f"  {failure.exception_type}"
                      + (f": {failure.exception_message}" if failure.exception_message else ""),
                      markup=False, highlight=False)
    for frame in failure.frames:
        console.print(f"  {frame.file}, line {frame.line}, in {frame.function}", markup=False,
                      highlight=False)
    if failure.stderr_tail:
        console.print("  last lines printed:", markup=False)
        for line in failure.stderr_tail:
            console.print(f"    {line}", markup=False, highlight=False)
    if failure.check_hint:
        console.print(f"  {failure.check_hint}", markup=False, highlight=False)
