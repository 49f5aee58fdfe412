"""`grader assignment anchors ID`: grade the baselines on this deployment's instance."""

from __future__ import annotations

import time

import typer
from rich.table import Table

from grader.cli._grade import assignment_or_abort
from grader.cli._output import abort, console, info, print_json


def anchors(
    assignment_id: str = typer.Argument(..., metavar="ID"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Measure the anchors scores are placed on: every baseline graded on this deployment's
    instance (DATA_DIR's), those not measured yet or errored, one at a time in this process.
    `grader serve` and `grader worker` do the same in the background."""
    from grader.anchors import AnchorsError, AnchorState, measure_missing
    from grader.instance import InstanceError
    from grader.settings import get_settings
    from sandbox import SandboxError

    settings = get_settings()
    assignment, folder = assignment_or_abort(assignment_id)
    started = time.monotonic()
    try:
        measured = measure_missing(settings, assignment, folder, progress=info,
                                   retry_errored=True)
    except (AnchorsError, InstanceError, SandboxError) as exc:
        abort(str(exc))
    if as_json:
        print_json({**measured.model_dump(mode="json"), "complete": measured.complete})
    else:
        table = Table("baseline", "state", "seconds", "scores or reason")
        for name, state in measured.baselines.items():
            seconds = (f"{(state.finished_at - state.started_at).total_seconds():.0f}"
                       if state.started_at and state.finished_at else "")
            detail = (", ".join(f"{k} {v:.4g}" for k, v in state.scores.items())
                      if state.state == AnchorState.DONE else state.reason)
            table.add_row(name, state.state.value, seconds, detail)
        console.print(table)
        console.print(f"{assignment.id}: {measured.summary()} "
                      f"({time.monotonic() - started:.0f}s here)")
    if not measured.complete:
        abort(f"the anchors of {assignment.id} are not complete; reports stay provisional")
