"""`grader reviewer create|list`: reviewer accounts."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from grader.cli._output import abort, console, info, print_json
from grader.cli._store import open_database

app = typer.Typer(help="Reviewer accounts.", no_args_is_help=True)


@app.command()
def create(
    email: str = typer.Argument(..., help="the reviewer's email, used to log in"),
    password_stdin: bool = typer.Option(False, "--password-stdin",
                                        help="read the password from standard input"),
) -> None:
    """Create a reviewer; the password comes from a prompt or --password-stdin."""
    from grader.store import AccountError, create_reviewer

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with open_database() as db:
        try:
            with db.write() as session:
                reviewer = create_reviewer(session, email, password)
                email = reviewer.email
        except AccountError as exc:
            abort(str(exc))
    info(f"reviewer {email} created")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List reviewer accounts."""
    from grader.store import list_reviewers

    with open_database() as db, db.read() as session:
        rows = [{"email": r.email, "created_at": r.created_at.isoformat()}
                for r in list_reviewers(session)]
    if as_json:
        print_json({"reviewers": rows})
        return
    table = Table("email", "created")
    for row in rows:
        table.add_row(row["email"], row["created_at"])
    console.print(table)
