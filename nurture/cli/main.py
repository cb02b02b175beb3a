"""The `nurture` command: one entry point for operators, developers and the demo."""

from __future__ import annotations

from importlib.metadata import version
from typing import Annotated

import typer

from nurture.cli import (
    api_keys,
    bookings,
    campaigns,
    consent,
    db,
    inbox,
    leads,
    locations,
    users,
    webhooks,
)
from nurture.cli.demo import demo
from nurture.cli.doctor import doctor
from nurture.cli.services import beat, run, serve, worker
from nurture.cli.stats import stats

# Locals stay out of tracebacks: they would print settings, secrets and personal data.
app = typer.Typer(
    help="Nurture: timed educational email and SMS sequences for a clinic's prospects.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"nurture {version('nurture')}")
        raise typer.Exit


@app.callback()
def main(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Nurture: timed educational email and SMS sequences for a clinic's prospects."""


app.add_typer(db.app, name="db")
app.add_typer(campaigns.app, name="campaigns")
app.add_typer(leads.app, name="leads")
app.add_typer(consent.app, name="consent")
app.add_typer(inbox.app, name="inbox")
app.add_typer(bookings.app, name="bookings")
app.add_typer(users.app, name="users")
app.add_typer(api_keys.app, name="api-keys")
app.add_typer(webhooks.app, name="webhooks")
app.add_typer(locations.app, name="locations")
for command in (serve, worker, beat, run, demo, stats, doctor):
    app.command()(command)
