"""`grader invite create`: a candidate's link to an assignment."""

from __future__ import annotations

import typer

from grader.cli._output import abort, console, info, print_json
from grader.settings import get_settings

app = typer.Typer(help="Candidate invites.", no_args_is_help=True)


@app.command()
def create(
    assignment_id: str = typer.Argument(..., help="assignment id"),
    cohort: str = typer.Option("default", help="the cohort the candidate is compared with"),
    label: str = typer.Option("", help="who it is for (a name or an email)"),
    allowance: int = typer.Option(None, min=1, help="submissions allowed [default: the "
                                  "assignment's max_submissions]"),
    valid_days: float = typer.Option(None, min=0.01, help="days until it expires [default: "
                                     "settings.invite_days]"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Create an invite and print its link (shown only now; only its hash is stored)."""
    from grader.authoring import AssignmentNotFound, find_assignment
    from grader.spec import SpecError
    from grader.store import Database, invite_candidate, migrate

    settings = get_settings()
    try:
        assignment, _ = find_assignment(settings.assignments_dir, assignment_id,
                                        ceiling=settings.limits)
    except (AssignmentNotFound, SpecError) as exc:
        abort(str(exc))
    db = Database(settings.resolved_database_url())
    try:
        migrate(db)
        invite, token = invite_candidate(
            db, assignment_id=assignment.id,
            max_submissions=assignment.candidate.max_submissions, cohort=cohort, label=label,
            allowance=allowance, valid_days=valid_days or settings.invite_days,
            created_by="cli")
    finally:
        db.dispose()
    url = f"{settings.public_url.rstrip('/')}/i/{token}"
    if as_json:
        print_json({"id": invite.id, "url": url, "token": token, "assignment_id": assignment.id,
                    "cohort": invite.cohort, "label": invite.label,
                    "allowance": invite.allowance,
                    "expires_at": invite.expires_at.isoformat() + "Z"})
        return
    console.print(url)
    info(f"{invite.allowance} submissions, cohort {invite.cohort}, expires "
         f"{invite.expires_at:%Y-%m-%d %H:%M} UTC")
