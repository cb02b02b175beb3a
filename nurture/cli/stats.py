"""`nurture stats`: how each campaign and step is doing."""

from __future__ import annotations

from typing import Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from nurture.analytics.stats import STATUS_ORDER, CampaignStats, UnknownCampaign, campaign_stats
from nurture.cli.context import needs_database, sessions
from nurture.cli.output import STATUS_STYLE, console, fail
from nurture.messages.models import MessageStatus


def _step_table(result: CampaignStats) -> Table:
    # Only statuses that occur get a column, so the table fits a terminal; sent always.
    shown = [
        status
        for status in STATUS_ORDER
        if status is MessageStatus.SENT or any(step.count(status) for step in result.steps)
    ]
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("step")
    table.add_column("channel")
    for status in shown:
        table.add_column(f"[{STATUS_STYLE.get(status, 'white')}]{status}[/]", justify="right")
    for step in result.steps:
        table.add_row(step.key, step.channel, *(str(step.count(status)) for status in shown))
    return table


@needs_database
def stats(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign (its slug).")] = None,
) -> None:
    """Enrollments by outcome, and each step's messages by status with skip reasons."""
    with sessions()() as session:
        try:
            results = campaign_stats(session, campaign)
        except UnknownCampaign:
            fail(f"no campaign has the slug {campaign!r} (see `nurture campaigns list`)")
    out = console()
    if not results:
        out.print("No campaigns yet: run `nurture campaigns sync`.")
    for result in results:
        # Any other status (e.g. paused) is listed too, so the parts add up to "enrolled".
        others = "".join(
            f"   {status} {count}"
            for status, count in result.enrollments.items()
            if status not in ("active", "completed", "exited")
        )
        out.print(
            f"\n[bold]{escape(result.slug)}[/]: {escape(result.name)}\n"
            f"  enrolled {result.enrolled}   active {result.active}   "
            f"completed {result.completed}   exited {result.exited} "
            f"(booked a screening: {result.booked}){escape(others)}"
        )
        for reason, count in result.exit_reasons.items():
            out.print(f"    exited: {count} × {escape(reason)}")
        out.print(_step_table(result))
        reasons = [(step.key, r, n) for step in result.steps for r, n in step.skip_reasons.items()]
        if reasons:
            out.print("  Skipped, by reason:")
        for key, reason, count in reasons:
            out.print(f"    {key}: {count} × {escape(reason)}")
