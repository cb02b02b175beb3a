"""`nurture consent`: what a lead agreed to and when, and the ledger as CSV for audits."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from nurture.cli.context import clinic_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.consent.audit import UnknownContact, consent_report, find_by_contact, write_ledger_csv
from nurture.text import local_time

app = typer.Typer(help="The consent ledger: show one lead, export all.", no_args_is_help=True)


@app.command()
@needs_database
def show(
    contact: Annotated[str, typer.Argument(help="The lead's email address or phone number.")],
) -> None:
    """Consent in force per channel, every ledger row behind it, and suppressions."""
    settings = clinic_settings()
    with sessions()() as session:
        try:
            report = consent_report(session, find_by_contact(session, contact))
        except UnknownContact as exc:
            fail(str(exc))
    out = console()
    zone = settings.clinic_zone
    lead = report.lead
    out.print(f"[bold]{escape(lead.first_name)}[/] {escape(lead.email)} {escape(lead.phone or '')}")
    for channel, granted in report.current.items():
        state = "[green]granted[/]" if granted else "[red]not granted[/]"
        out.print(f"  {channel.value:5}  {state}")
    table = Table("when", "channel", "action", "source", "wording", "ip", title="ledger")
    for event in report.events:
        table.add_row(
            local_time(event.occurred_at, zone),
            event.channel,
            event.action,
            escape(event.source),
            escape(event.wording_version or ""),
            escape(event.ip or ""),
        )
    out.print(table)
    for suppression in report.suppressions:
        out.print(
            f"  [red]suppressed[/] {suppression.channel}: {escape(suppression.reason)} "
            f"since {local_time(suppression.created_at, zone)}"
        )


@app.command()
@needs_database
def export(
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="CSV file to write (default: stdout).")
    ] = None,
) -> None:
    """The whole ledger as CSV: one row per grant or revocation, oldest first."""
    with sessions()() as session:
        if output is None:
            write_ledger_csv(session, sys.stdout)
            return
        with output.open("w", newline="", encoding="utf-8") as handle:
            count = write_ledger_csv(session, handle)
    console().print(f"wrote {count} ledger rows to {output}")
