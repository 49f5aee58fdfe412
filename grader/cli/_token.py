"""`grader token create|list|revoke`: API tokens for scripts and applicant tracking systems, made
by the operator for a reviewer (the token acts as that reviewer, within its scopes)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from grader.cli._invite import parse_duration
from grader.cli._output import abort, console, info, print_json
from grader.cli._store import open_database
from grader.tokens import SCOPE_DESCRIPTIONS

if TYPE_CHECKING:  # the store is imported by the commands that use it, for a quick --help
    from grader.store import ApiToken, TokenPublic

app = typer.Typer(help="API tokens for machines (scoped, revocable; only their hash is kept).",
                  no_args_is_help=True)

_SCOPES_HELP = "; ".join(f"{scope.value}: {text}" for scope, text in SCOPE_DESCRIPTIONS.items())


def _shown(token: ApiToken) -> tuple[TokenPublic, str]:
    """The token as the JSON API shows it, and its reviewer's email: the operator sees
    everyone's tokens, a reviewer only their own."""
    from grader.store import TokenPublic

    return TokenPublic.of(token), token.reviewer.email


def _json(public: TokenPublic, reviewer: str) -> dict[str, Any]:
    return {**public.model_dump(mode="json"), "reviewer": reviewer}


@app.command()
def create(
    reviewer: str = typer.Option(..., help="the reviewer the token acts for (their email)"),
    name: str = typer.Option(..., help="what uses the token, e.g. greenhouse or nightly-export"),
    scope: list[str] = typer.Option(..., help=f"repeat for each scope ({_SCOPES_HELP})"),
    expires: str = typer.Option(None, help="lifetime, e.g. 90d or 12h [default: never expires]"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Make a token and print it (shown only now; only its sha256 is stored)."""
    from sqlalchemy import select

    from grader.store import Reviewer, create_api_token, utcnow
    from grader.tokens import parse_scopes

    try:
        scopes = parse_scopes(scope)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--scope") from exc
    lifetime = parse_duration(expires) if expires is not None else None
    with open_database() as db:
        try:
            with db.write() as session:
                owner = session.scalars(select(Reviewer).where(
                    Reviewer.email == reviewer.strip().lower())).first()
                if owner is None:
                    abort(f"no reviewer {reviewer}; `grader reviewer list` shows them, `grader "
                          "reviewer create` makes one")
                token, secret = create_api_token(
                    session, reviewer_id=owner.id, name=name, scopes=scopes,
                    expires_at=utcnow() + lifetime if lifetime is not None else None)
                public, owner_email = _shown(token)
        except ValueError as exc:
            abort(str(exc))
    if as_json:
        print_json({**_json(public, owner_email), "token": secret})
        return
    console.print(secret, highlight=False, soft_wrap=True)
    info(f"token {public.id} ({', '.join(public.scopes)}) for {owner_email}: shown only now; "
         "send it as Authorization: Bearer")


@app.command("list")
def list_(
    reviewer: str = typer.Option(None, help="only this reviewer's tokens [default: all]"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """List tokens, newest first (never their secrets)."""
    from grader.store import list_api_tokens

    with open_database() as db, db.read() as session:
        rows = [_shown(token) for token in list_api_tokens(session)
                if reviewer is None or token.reviewer.email == reviewer.strip().lower()]
    if as_json:
        print_json({"tokens": [_json(public, email) for public, email in rows]})
        return
    table = Table("id", "name", "prefix", "reviewer", "scopes", "expires", "revoked", "last used")
    for public, email in rows:
        table.add_row(str(public.id), public.name, public.prefix, email, " ".join(public.scopes),
                      _when(public.expires_at) or "never", _when(public.revoked_at),
                      _when(public.last_used_at))
    console.print(table)


def _when(value: datetime | None) -> str:
    return value.isoformat() if value is not None else ""


@app.command()
def revoke(token_id: int = typer.Argument(..., help="the token's id (`grader token list`)")
           ) -> None:
    """Revoke a token: from now on it is refused."""
    from grader.store import revoke_api_token

    with open_database() as db, db.write() as session:
        token = revoke_api_token(session, token_id)
        if token is None:
            abort(f"no token {token_id}; `grader token list` shows them")
        name = token.name
    info(f"token {token_id} ({name}) revoked")
