"""One voice for the terminal: messages, tables and JSON, and abort() for expected failures."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from pydantic import BaseModel

# No emoji codes: "assignment.yaml:100:" in an error must print as written.
console = Console(emoji=False)
errors = Console(stderr=True, emoji=False)


def print_json(value: BaseModel | dict[str, Any]) -> None:
    from pydantic import BaseModel

    data = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    typer.echo(json.dumps(data, indent=2))


def info(message: str) -> None:
    # Plain text, never markup: messages carry paths, assignment text and errors verbatim.
    errors.print(Text(message, style="dim"), highlight=False)


def checks_table(rows: Iterable[tuple[str, bool, str]], title: str = "check") -> None:
    """A table of named checks: one row each, ok or FAIL, and what was found."""
    table = Table(title, "", "detail")
    for name, ok, detail in rows:
        table.add_row(name, "[green]ok[/green]" if ok else "[red]FAIL[/red]", detail)
    console.print(table)


def abort(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[bold red]error:[/bold red] {message}", highlight=False)
    raise typer.Exit(code)
