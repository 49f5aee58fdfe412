"""`grader report export`: a stored report.json in another tool's format."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import typer

from grader.cli._grade import assignment_or_abort
from grader.cli._output import abort, info

app = typer.Typer(help="Graded reports.", no_args_is_help=True)


class ExportFormat(StrEnum):
    GRADESCOPE = "gradescope"


@app.command()
def export(
    report_path: Path = typer.Argument(..., metavar="REPORT.json", exists=True, dir_okay=False,
                                       help="a report.json written by `grader grade`"),
    format_: ExportFormat = typer.Option(..., "--format", help="the format to write"),
    out: Path | None = typer.Option(None, "-o", "--output",
                                    help="write here instead of standard output"),
) -> None:
    """Write a report in another tool's format: gradescope, Gradescope's autograder results.json
    (what candidates may see follows the assignment's release policy, found by the report's
    assignment id among the assignments)."""
    from pydantic import ValidationError

    from grader.gradescope import ExportError, gradescope_results
    from grader.report import Report

    try:
        report = Report.model_validate_json(report_path.read_bytes())
    except ValidationError as exc:
        abort(f"{report_path} is not a grader report.json ({exc.error_count()} problem(s), "
              f"first: {exc.errors()[0]['msg']} at {'.'.join(map(str, exc.errors()[0]['loc']))})"
              "; export the report.json that `grader grade` wrote")
    assignment, _ = assignment_or_abort(report.reproduction.assignment_id)
    try:
        results = gradescope_results(report, assignment)
    except ExportError as exc:
        abort(str(exc))
    text = results.model_dump_json(indent=2, exclude_none=True) + "\n"
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text)
    info(f"wrote {out}")
