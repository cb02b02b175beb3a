"""`nurture stats`: each campaign's funnel and per-step results, and its messages by status.

The funnel and per-step numbers come from nurture.analytics.funnel and are printed
through nurture.analytics.report, exactly as the console's Results page shows them:
the command recounts the rollup first, so they are exact when printed.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from nurture.analytics.export import write_results_csv
from nurture.analytics.funnel import CampaignResults, campaign_results, recount_results
from nurture.analytics.period import Period, PeriodError, parse_period
from nurture.analytics.report import FUNNEL_HEADERS, STEP_HEADERS, funnel_cells, step_rows
from nurture.analytics.stats import STATUS_ORDER, CampaignStats, UnknownCampaign, campaign_stats
from nurture.analytics.variants import campaign_tests
from nurture.cli.context import cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.output import STATUS_STYLE, console, fail
from nurture.messages.models import MessageStatus


def _status_table(result: CampaignStats) -> Table:
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


def _text_table(title: str, headers: tuple[str, ...], rows: list[list[str]]) -> Table:
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD)
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right")
    for row in rows:
        table.add_row(*(escape(cell) for cell in row))
    return table


def _print_outcomes(out: Console, result: CampaignStats) -> None:
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


def _print_results(out: Console, results: CampaignResults) -> None:
    out.print(f"  Leads {escape(results.period.describe())} (by enrolment date)")
    funnel = [funnel_cells(stage) for stage in results.funnel]
    out.print(_text_table("Funnel", FUNNEL_HEADERS, funnel))
    out.print(_text_table("Results by step", STEP_HEADERS, step_rows(results)))
    out.print(
        "  Rates are over delivered emails. Replies, unsubscribes and bookings go to the last\n"
        "  step sent before them (a reply or opt-out: the last on its own channel)."
    )


def _print_statuses(out: Console, result: CampaignStats) -> None:
    out.print("  Messages by status")
    out.print(_status_table(result))
    reasons = [(step.key, r, n) for step in result.steps for r, n in step.skip_reasons.items()]
    if reasons:
        out.print("  Skipped, by reason:")
    for key, reason, count in reasons:
        out.print(f"    {key}: {count} × {escape(reason)}")


def _period(since: str | None, until: str | None) -> Period:
    try:
        return parse_period(
            since, until, clinic_settings().clinic_zone, names=("--since", "--until")
        )
    except PeriodError as exc:
        fail(str(exc))


@needs_database
def stats(
    campaign: Annotated[str | None, typer.Option(help="Only this campaign (its slug).")] = None,
    since: Annotated[
        str | None, typer.Option(help="Only leads enrolled on or after this date (YYYY-MM-DD).")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="Only leads enrolled before this date (YYYY-MM-DD).")
    ] = None,
    as_csv: Annotated[
        bool,
        typer.Option("--csv", help="Print the funnel, per-step and A/B variant tables as CSV."),
    ] = False,
) -> None:
    """Funnel and per-step results, enrollments by outcome, messages by status."""
    period = _period(since, until)
    factory, now = sessions(), cli_clock().now()
    with factory() as session:
        try:
            overview = campaign_stats(session, campaign, period)
        except UnknownCampaign:
            fail(f"no campaign has the slug {campaign!r} (see `nurture campaigns list`)")
    # Recount first: what is printed is exact now, and the Results page shows the same.
    for item in overview:
        with factory.begin() as session:
            recount_results(session, item.slug, now)
    with factory() as session:
        results = [campaign_results(session, item.slug, period) for item in overview]
        tests = [campaign_tests(session, item.slug, period) for item in overview]
    if as_csv:
        # The same file the Results page downloads, A/B variant block included.
        for index, (result, tested) in enumerate(zip(results, tests, strict=True)):
            if index:
                sys.stdout.write("\n")
            write_results_csv(result, sys.stdout, tested)
        return
    out = console()
    if not overview:
        out.print("No campaigns yet: run `nurture campaigns sync`.")
    for item, result in zip(overview, results, strict=True):
        _print_outcomes(out, item)
        _print_results(out, result)
        _print_statuses(out, item)
