"""The `grader` command: commands parse arguments and call the core; output goes via _output."""

from __future__ import annotations

import typer

from grader.__about__ import __version__
from grader.cli import (
    _anchors,
    _assignment,
    _grade,
    _invite,
    _report,
    _rescore,
    _reviewer,
    _sandbox,
    _serve,
    _token,
    _webhook,
)
from grader.cli._output import console, print_json

app = typer.Typer(help="Auto-grader for machine-learning take-home assessments.",
                  no_args_is_help=True, pretty_exceptions_show_locals=False)
app.add_typer(_sandbox.app, name="sandbox")
app.add_typer(_assignment.app, name="assignment")
_assignment.app.command("anchors")(_anchors.anchors)
_assignment.app.command("rescore")(_rescore.rescore)
app.command()(_grade.grade)
app.command()(_serve.serve)
app.command()(_serve.worker)
app.add_typer(_reviewer.app, name="reviewer")
app.add_typer(_invite.app, name="invite")
app.add_typer(_report.app, name="report")
app.add_typer(_token.app, name="token")
app.add_typer(_webhook.app, name="webhook")


@app.command()
def version(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """Print the grader's version."""
    if as_json:
        print_json({"version": __version__})
    else:
        console.print(f"grader {__version__}")


def main() -> None:
    app()
