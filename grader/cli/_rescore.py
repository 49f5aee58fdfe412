"""`grader assignment rescore ID`: stored reports placed on the assignment's current rubric and
anchors, with what moved and why (``grader.stability.rescore_assignment``)."""

from __future__ import annotations

import typer
from rich.table import Table

from grader.cli._grade import assignment_or_abort
from grader.cli._output import abort, console, info, print_json


def _points(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def rescore(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    apply: bool = typer.Option(False, "--apply", help="write the re-placed reports and totals "
                                                      "(without it nothing is written)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON: every report, moved or not"),
) -> None:
    """Place every stored graded report of an assignment on its current rubric and anchors, and
    list what moved: old and new total, and why. A report graded on other content is re-placed
    only when its baselines score the same now; otherwise it needs a re-grade."""
    from grader.instance import InstanceError
    from grader.settings import get_settings
    from grader.stability import RescoreState, rescore_assignment
    from grader.store import Database, migrate

    settings = get_settings()
    assignment, folder = assignment_or_abort(assignment_id)
    db = Database(settings.resolved_database_url())
    try:
        migrate(db)
        done = rescore_assignment(settings=settings, db=db, assignment=assignment, folder=folder,
                                  apply=apply)
    except InstanceError as exc:
        abort(str(exc))
    finally:
        db.dispose()
    if as_json:
        print_json(done)
        return
    shown = [row for row in done.rows if row.state != RescoreState.UNCHANGED]
    if shown:
        table = Table("submission", "candidate", "report", "old total", "new total", "why",
                      title=f"{assignment.id} {assignment.version}")
        for row in shown:
            table.add_row(str(row.submission_id), row.label or "—",
                          f"{row.report_id}{'' if row.latest else ' (earlier)'}",
                          _points(row.old_total), _points(row.new_total), row.why)
        console.print(table)
    counts = ", ".join(f"{done.count(state)} {label}" for state, label in (
        (RescoreState.MOVED, "moved"), (RescoreState.UNCHANGED, "unchanged"),
        (RescoreState.NEEDS_REGRADE, "need a re-grade"), (RescoreState.NOT_PLACED, "not placed")))
    console.print(f"{len(done.rows)} graded report(s) of {assignment.id}: {counts}.",
                  soft_wrap=True)
    if apply:
        info(f"written: {done.written} report(s)")
    elif done.count(RescoreState.MOVED):
        info("nothing written; --apply writes the moved reports and their submissions' totals")
