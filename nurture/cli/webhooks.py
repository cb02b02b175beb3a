"""`nurture webhooks`: endpoints that receive signed events, and what was sent to them."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nurture.cli.context import cli_actor, cli_clock, load_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.staff.service import record_audit
from nurture.webhooks_out.delivery_log import LOG_LIMIT, delivery_log
from nurture.webhooks_out.endpoints import (
    ALL_EVENTS,
    EndpointError,
    UnknownEndpoint,
    add_endpoint,
    list_endpoints,
    remove_endpoint,
)

app = typer.Typer(help="Outbound webhooks to a CRM or EHR.", no_args_is_help=True)
EndpointId = Annotated[int, typer.Argument(help="The endpoint's number, from `webhooks list`.")]
LOG_STYLE = {"delivered": "green", "pending": "cyan", "failed": "yellow", "given_up": "red"}


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S}" if moment else "—"


@app.command()
@needs_database
def add(
    url: Annotated[str, typer.Argument(help="Where to post, e.g. https://crm.example.com/hooks.")],
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", "-e", help=f"An event to send (repeat it); all when left out: {ALL_EVENTS}."
        ),
    ] = None,
) -> None:
    """Add an endpoint; its signing secret is printed once."""
    now = cli_clock().now()
    with sessions().begin() as session:
        try:
            endpoint, secret = add_endpoint(
                session, url, event or ALL_EVENTS, now, app_secret=load_settings().secret_key
            )
        except EndpointError as exc:
            fail(f"{exc.field}: {exc}")
        record_audit(session, cli_actor(), "webhook.added", now, f"webhook:{endpoint.id}")
    out = console()
    out.print(f"Webhook endpoint {endpoint.id} added for: {', '.join(endpoint.events)}.")
    out.print("Its signing secret, shown this once (verify the Nurture-Signature header with it):")
    out.print(secret, soft_wrap=True)


@app.command()
@needs_database
def remove(endpoint_id: EndpointId) -> None:
    """Remove an endpoint, with its delivery log and anything it was still owed."""
    now = cli_clock().now()
    with sessions().begin() as session:
        try:
            remove_endpoint(session, endpoint_id)
        except UnknownEndpoint as exc:
            fail(str(exc))
        record_audit(session, cli_actor(), "webhook.removed", now, f"webhook:{endpoint_id}")
    console().print(f"Removed webhook endpoint {endpoint_id}.")


@app.command("list")
@needs_database
def list_command() -> None:
    """Every endpoint: its number, URL, events and whether it is on."""
    with sessions()() as session:
        endpoints = list_endpoints(session)
    table = Table("#", "url", "events", "status", "created")
    for endpoint in endpoints:
        table.add_row(
            str(endpoint.id),
            escape(endpoint.url),
            ", ".join(endpoint.events),
            "enabled" if endpoint.enabled else "disabled",
            f"{endpoint.created_at:%Y-%m-%d}",
        )
    console().print(table if endpoints else "No webhook endpoints yet: `nurture webhooks add URL`.")


@app.command()
@needs_database
def log(
    endpoint: Annotated[
        int | None, typer.Option("--endpoint", help="Only this endpoint's deliveries.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, max=LOG_LIMIT, help="How many, newest first.")] = 50,
) -> None:
    """The latest deliveries (times in UTC): status, attempts, last answer, next try."""
    with sessions()() as session:
        lines = delivery_log(session, endpoint, limit)
    table = Table("#", "endpoint", "event", "lead", "status", "tries", "answer", "next try")
    for line in lines:
        style = LOG_STYLE.get(line.status.value, "white")
        answer = line.last_error or (str(line.last_response_code or "") or "—")
        table.add_row(
            str(line.id),
            str(line.endpoint_id),
            line.event_type,
            line.lead_public_id,
            f"[{style}]{line.status.value}[/]",
            str(line.attempts),
            escape(answer),
            _when(line.next_attempt_at),
        )
    console().print(table if lines else "No webhook deliveries yet.")
