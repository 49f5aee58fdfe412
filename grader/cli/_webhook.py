"""`grader webhook add|list|remove|deliveries|replay`: the webhook endpoints and outbound deliveries
the reviewers' Webhooks page shows, from the operator's shell (docs/webhooks.md)."""

from __future__ import annotations

import typer
from rich.table import Table

from grader.cli._output import abort, console, info, print_json
from grader.cli._store import open_database

app = typer.Typer(help="Webhook endpoints and their deliveries (signed, retried, replayable).",
                  no_args_is_help=True)


@app.command()
def add(
    url: str = typer.Argument(..., help="where to POST events (http or https)"),
    event: list[str] = typer.Option(None, help="repeat for each event to send, e.g. "
                                                "submission.graded [default: every event]"),
    notes: bool = typer.Option(False, "--notes", help="send reviewers' notes with decisions"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
) -> None:
    """Register an endpoint and print its signing secret (shown only now)."""
    from grader import webhooks

    with open_database() as db:
        try:
            endpoint, secret = webhooks.create_endpoint(
                db, url=url, events=event or list(webhooks.EventType), include_notes=notes,
                created_by="cli")
        except webhooks.WebhookRefused as exc:
            abort(str(exc))
    if as_json:
        print_json({**webhooks.endpoint_public(endpoint).model_dump(mode="json"),
                    "secret": secret})
        return
    console.print(secret, highlight=False, soft_wrap=True)
    info(f"endpoint {endpoint.id} for {endpoint.events}: give the secret above to the receiver, "
         "which verifies Grader-Signature with it (docs/webhooks.md); it is shown only now")


@app.command("list")
def list_(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the endpoints (never their secrets)."""
    from grader.store import list_webhook_endpoints
    from grader.webhooks import endpoint_public

    with open_database() as db, db.read() as session:
        rows = [endpoint_public(e) for e in list_webhook_endpoints(session)]
    if as_json:
        print_json({"endpoints": [row.model_dump(mode="json") for row in rows]})
        return
    table = Table("id", "url", "events", "notes", "source", "by")
    for row in rows:
        table.add_row(str(row.id), row.url, " ".join(row.events),
                      "yes" if row.include_notes else "no", row.source, row.created_by)
    console.print(table)


@app.command()
def remove(endpoint_id: int = typer.Argument(..., help="the endpoint's id (`grader webhook "
                                                       "list`)")) -> None:
    """Remove an endpoint; its deliveries not yet sent are cancelled."""
    from grader import webhooks

    with open_database() as db:
        if not webhooks.remove_endpoint(db, endpoint_id):
            abort(f"no endpoint {endpoint_id} registered by reviewers; `grader webhook list` "
                  "shows them (the settings' one follows GRADER_DELIVERIES__WEBHOOK_URL)")
    info(f"endpoint {endpoint_id} removed")


@app.command()
def deliveries(as_json: bool = typer.Option(False, "--json", help="print JSON")) -> None:
    """List the latest deliveries, newest first, with each attempt's code or error."""
    from grader import deliveries as outbound
    from grader.store import list_deliveries

    with open_database() as db, db.read() as session:
        rows = outbound.public(session, list_deliveries(session))
    if as_json:
        print_json({"deliveries": [row.model_dump(mode="json") for row in rows]})
        return
    table = Table("id", "for", "url", "state", "attempts", "created")
    for row in rows:
        table.add_row(str(row.id), row.purpose, row.url, row.state,
                      ", ".join(str(a.status_code) if a.status_code is not None else a.error
                                for a in row.attempts),
                      row.created_at.isoformat())
    console.print(table)


@app.command()
def replay(delivery_id: int = typer.Argument(..., help="the delivery's id (`grader webhook "
                                                       "deliveries`)")) -> None:
    """Send a delivery again: a new delivery of the same request, signed afresh."""
    from grader import deliveries as outbound

    with open_database() as db:
        replayed = outbound.replay(db, delivery_id)
    if replayed is None:
        abort(f"no delivery {delivery_id}; `grader webhook deliveries` lists them")
    info(f"delivery {delivery_id} queued again as {replayed}; a worker sends it")
