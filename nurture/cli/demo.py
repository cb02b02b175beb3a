"""`nurture demo`: the whole sequence for two sample prospects, rehearsed in seconds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Annotated

import typer
from rich.markup import escape

from nurture.campaigns.spec import parse_delay
from nurture.cli.context import load_settings
from nurture.cli.output import console, fail, local_time
from nurture.cli.tables import timeline_view
from nurture.clock import utcnow
from nurture.config import Settings
from nurture.runtime.rehearsal import (
    DEMO_CAMPAIGN,
    RehearsalError,
    RehearsalResult,
    RehearsedLead,
    rehearse,
)

START_HOUR = 9


def _start(settings: Settings, text: str | None) -> datetime:
    zone = settings.clinic_zone
    if text is None:
        # The next 09:00 on the clinic's clock: a plausible moment to download a guide.
        local = utcnow().astimezone(zone)
        day = local.date() if local.hour < START_HOUR else local.date() + timedelta(days=1)
        return datetime.combine(day, time(START_HOUR), tzinfo=zone).astimezone(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        fail(f"--start {text!r} is not an ISO date-time, e.g. 2026-11-02T09:00")
    return (moment.replace(tzinfo=zone) if moment.tzinfo is None else moment).astimezone(UTC)


def _pace(text: str) -> timedelta | None:
    if text == "max":
        return None
    try:
        pace = parse_delay(text)
    except ValueError:
        fail(f"--speed {text!r}: use max, or virtual time per real second such as 1d or 6h")
    if not pace:
        fail("--speed must be more than zero")
    return pace


def _describe(rehearsed: RehearsedLead) -> str:
    lead = rehearsed.lead
    phone = lead.phone or "no phone"
    consent = "email and SMS consent" if lead.sms else "email consent only"
    minutes = int(lead.books_delay.total_seconds() // 60)
    after = f"{minutes // 60}h{minutes % 60:02d}" if minutes % 60 else f"{minutes // 60}h"
    plan = (
        f"; books a screening {after} after the {lead.books_after_step} text"
        if lead.books_after_step
        else ""
    )
    return f"[bold]{lead.first_name}[/] <{lead.email}>, {phone}, {lead.timezone}: {consent}{plan}"


def _relative(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _files(result: RehearsalResult) -> None:
    out = console()
    emails = len(list(result.outbox_dir.glob("*.eml"))) if result.outbox_dir.is_dir() else 0
    texts = len(result.sms_log.read_text().splitlines()) if result.sms_log.is_file() else 0
    out.print("[bold]Where the files are[/]")
    out.print(f"  emails    {escape(_relative(result.outbox_dir))}/  ({emails} .eml files)")
    out.print(f"  texts     {escape(_relative(result.sms_log))}  ({texts} messages, JSON lines)")
    out.print(f"  database  {escape(_relative(result.database))}")
    out.print(
        "  look closer: "
        f"DATABASE_URL=sqlite:///{escape(str(result.database))} "
        "nurture leads show jordan@example.com"
    )


def demo(
    speed: Annotated[
        str,
        typer.Option(help="max (jump to each due time), or virtual time per real second: 1d, 6h."),
    ] = "max",
    start: Annotated[
        str | None,
        typer.Option(help="When the first prospect signs up, ISO 8601 (clinic time if no offset)."),
    ] = None,
) -> None:
    """Rehearse the whole two-week sequence for two sample prospects through the real pipeline."""
    settings = load_settings()
    began, pace, out = _start(settings, start), _pace(speed), console()
    zone = settings.clinic_zone
    out.print(
        f"[bold]Nurture demo[/]: the {DEMO_CAMPAIGN} sequence for two prospects, from "
        f"{local_time(began, zone)}.\nReal capture, dispatcher, Celery worker (in-process "
        "memory broker), gate and console channels; only the clock is accelerated.\n"
    )
    wall = monotonic()
    with out.status("Rehearsing…") as status:

        def progress(moment: datetime) -> None:
            day = (moment.astimezone(zone).date() - began.astimezone(zone).date()).days
            status.update(f"Rehearsing… Day {day}, {local_time(moment, zone)}")

        try:
            result = rehearse(settings, began, pace=pace, progress=progress)
        except RehearsalError as exc:
            fail(str(exc))
    elapsed = monotonic() - wall
    for rehearsed in result.leads:
        out.print(_describe(rehearsed))
        for timeline in rehearsed.timelines:
            title = f"{timeline.campaign_slug}: sequence {timeline.status}"
            if timeline.end_reason:
                title += f" ({timeline.end_reason})"
            out.print(f"[dim]{escape(title)}[/]")
            out.print(timeline_view(timeline))
        if rehearsed.booked_at is not None:
            zone_of_lead = rehearsed.timelines[0].zone if rehearsed.timelines else zone
            out.print(
                f"  Booked a free screening (source demo) at "
                f"{local_time(rehearsed.booked_at, zone_of_lead)}.\n"
            )
        else:
            out.print()
    days = (result.end - result.start).total_seconds() / 86400
    out.print(
        f"Rehearsed {days:.1f} days in {elapsed:.1f} s of real time "
        f"({result.rounds} dispatcher rounds).\n"
    )
    _files(result)
