"""`grader invite create` (a candidate's link to an assignment) and `grader invite extend` (more
working time or a longer window for one invite)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import TYPE_CHECKING

import typer

from grader.cli._output import abort, console, info, print_json

if TYPE_CHECKING:  # the store is imported by the commands that use it, for a quick --help
    from grader.store import Invite

app = typer.Typer(help="Candidate invites.", no_args_is_help=True)

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)([dhms])")
_UNIT_SECONDS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_duration(text: str) -> timedelta:
    """``5h``, ``90m``, ``1h30m``, ``2d``: a number and a unit (d, h, m, s), one or more times."""
    cleaned = text.strip().lower()
    parts = _DURATION_PART.findall(cleaned)
    if not parts or "".join(number + unit for number, unit in parts) != cleaned:
        raise typer.BadParameter(f"{text!r} is not a duration; write a number and a unit (d, h, "
                                 "m or s), for example 5h, 90m or 1h30m")
    return timedelta(seconds=sum(float(number) * _UNIT_SECONDS[unit] for number, unit in parts))


@app.command()
def create(
    assignment_id: str = typer.Argument(..., help="assignment id"),
    cohort: str = typer.Option("default", help="the cohort the candidate is compared with"),
    label: str = typer.Option("", help="who it is for (a name or an email)"),
    allowance: int = typer.Option(None, min=1, help="submissions allowed [default: the "
                                  "assignment's max_submissions]"),
    valid_days: float = typer.Option(None, min=0.01, help="days until it expires [default: "
                                     "settings.invite_days]"),
    time_limit: str = typer.Option(None, help="working time from the first download of the "
                                   "starter bundle, e.g. 5h or 4h30m [default: none, only the "
                                   "expiry applies]"),
    extra_time: int = typer.Option(0, min=0, help="an accommodation: percent added to "
                                   "--time-limit (25 turns 5h into 6h15m)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Create an invite and print its link (shown only now; only its hash is stored)."""
    from grader.authoring import AssignmentNotFound, find_assignment
    from grader.settings import get_settings
    from grader.spec import SpecError
    from grader.store import Database, invite_candidate, migrate

    limit = parse_duration(time_limit) if time_limit is not None else None
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
            created_by="cli", time_limit=limit, extra_time_percent=extra_time)
    except ValueError as exc:
        abort(str(exc))
    finally:
        db.dispose()
    url = settings.invite_url(token)
    if as_json:
        print_json({"id": invite.id, "url": url, "token": token, "assignment_id": assignment.id,
                    "cohort": invite.cohort, "label": invite.label,
                    "allowance": invite.allowance,
                    "expires_at": invite.expires_at.isoformat(),
                    "time_limit_seconds": invite.time_limit_seconds,
                    "extra_time_percent": invite.extra_time_percent})
        return
    console.print(url)
    info(f"invite {invite.id}: {invite.allowance} submissions, cohort {invite.cohort}, expires "
         f"{invite.expires_at:%Y-%m-%d %H:%M} UTC{_working_time(invite)}")


@app.command()
def extend(
    assignment_id: str = typer.Argument(..., help="assignment id"),
    invite_id: int = typer.Argument(..., help="the invite's id (shown when it was made, and in "
                                    "the reviewer pages and API)"),
    time: str = typer.Option(None, "--time", help="working time to add, e.g. 1h; counted from "
                             "now if the candidate's time has run out"),
    window: str = typer.Option(None, "--window", help="how much later the invite expires, e.g. "
                               "2d; counted from now if it has expired"),
) -> None:
    """Give one invite more working time, a later expiry, or both."""
    from grader.settings import get_settings
    from grader.store import Database, migrate
    from grader.submissions import ExtensionRefused, UnknownInvite, extend_time

    if time is None and window is None:
        abort("say what to extend: --time (working time), --window (expiry) or both")
    settings = get_settings()
    db = Database(settings.resolved_database_url())
    try:
        migrate(db)
        invite = extend_time(
            db, assignment_id=assignment_id, invite_id=invite_id,
            working_time=parse_duration(time) if time is not None else timedelta(0),
            window=parse_duration(window) if window is not None else timedelta(0))
    except (ExtensionRefused, UnknownInvite) as exc:
        abort(str(exc))
    finally:
        db.dispose()
    info(f"invite {invite.id} now expires {invite.expires_at:%Y-%m-%d %H:%M} UTC"
         f"{_working_time(invite)}")


def _working_time(invite: Invite) -> str:
    from grader.store import working_seconds

    seconds = working_seconds(invite)
    if seconds is None:
        return ""
    return f"; working time {timedelta(seconds=seconds)} from the first bundle download"
