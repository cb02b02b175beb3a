"""`nurture demo`: the whole sequence for three sample prospects, rehearsed in seconds."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from time import monotonic
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Group, RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from nurture.campaigns.spec import parse_delay
from nurture.cli.context import load_settings
from nurture.cli.output import console, fail
from nurture.cli.runtime.aftermath import Aftermath, NoticeRecord
from nurture.cli.runtime.rehearsal import (
    DEMO_CAMPAIGN,
    DEMO_LEADS,
    RehearsalError,
    RehearsalResult,
    RehearsedLead,
    rehearse,
)
from nurture.cli.runtime.texting import SMS_WEBHOOK
from nurture.cli.tables import entry, timeline_view
from nurture.clock import utcnow
from nurture.config import Settings
from nurture.text import local_time

START_HOUR = 9
# The conversation's columns: "Sat 14 Nov 11:00 CST" and the speaker's name.
TIME_WIDTH = 20
NAME_WIDTH = 7


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
    plan = ""
    if lead.texts:
        said = ", then ".join(f'"{escape(t.body)}"' for t in lead.texts)
        plan = f"; answers the {lead.replies_to_step} text with {said}"
    return f"[bold]{lead.first_name}[/] <{lead.email}>, {phone}, {lead.timezone}: {consent}{plan}"


def _conversation(rehearsed: RehearsedLead, zone: ZoneInfo) -> Table:
    """Each text in and the clinic's TwiML answer, at the rehearsal's time."""
    grid = Table.grid(padding=(0, 1), pad_edge=False)
    grid.add_column(min_width=TIME_WIDTH, no_wrap=True)
    grid.add_column(min_width=NAME_WIDTH, no_wrap=True)
    grid.add_column(overflow="fold")
    for exchange in rehearsed.conversation:
        intent = (exchange.intent or "").replace("_", " ")
        read_as = f" [dim](read as {escape(intent)})[/]" if intent else ""
        grid.add_row(
            local_time(exchange.at, zone),
            f"[bold]{escape(rehearsed.lead.first_name)}[/]",
            f"{escape(exchange.text)}{read_as}",
        )
        answers = [escape(a) for a in exchange.answers] or ["[dim](no answer)[/]"]
        for answer in answers:
            grid.add_row("", "[cyan]clinic[/]", answer)
    return grid


def _notice(notice: NoticeRecord, zone: ZoneInfo, enrolled_at: datetime) -> list[RenderableType]:
    details = []
    if notice.summary:
        to = f"to {escape(notice.to)}: " if notice.to else ""
        details.append(f"{to}{escape(notice.summary)}")
    if notice.reason and notice.status not in ("sent", "delivered"):
        details.append(f"[yellow]{escape(notice.reason)}[/]")
    if notice.file is not None:
        attached = f", with {', '.join(notice.attachments)}" if notice.attachments else ""
        details.append(f"[dim]{escape(_relative(notice.file))}{escape(attached)}[/]")
    day = (notice.at.astimezone(zone).date() - enrolled_at.astimezone(zone).date()).days
    return entry(
        day, notice.at, zone, notice.channel, notice.kind, status=notice.status, details=details
    )


def _outcome(rehearsed: RehearsedLead, after: Aftermath) -> RenderableType:
    """The conversation, the consent it changed, the booking it made and the notices sent."""
    zone = after.zone
    parts: list[RenderableType] = []
    parts.append(Text.from_markup(f"[dim]Texts to the clinic (signed POSTs to {SMS_WEBHOOK}):[/]"))
    parts.append(_conversation(rehearsed, zone))
    for change in after.consent_changes:
        parts.append(
            Text.from_markup(
                f"{change.channel.upper()} consent {change.action} at "
                f"{local_time(change.at, zone)} (source {escape(change.source)})"
            )
        )
    for booking in after.bookings:
        slot = "no time yet"
        if booking.starts_at is not None:
            slot = local_time(booking.starts_at, zone)
        if booking.starts_at is not None and booking.ends_at is not None:
            slot += f" ({(booking.ends_at - booking.starts_at).seconds // 60} min)"
        parts.append(
            Text.from_markup(
                f"[bold]Booked[/] a free screening for {slot}: {booking.status}, "
                f"via {escape(booking.source)} at {local_time(booking.created_at, zone)}"
            )
        )
    if after.notices:
        enrolled = (
            rehearsed.timelines[0].enrolled_at if rehearsed.timelines else after.notices[0].at
        )
        parts.append(Text.from_markup("[dim]Notices:[/]"))
        for notice in after.notices:
            parts += _notice(notice, zone, enrolled)
    return Group(*parts)


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
    """Rehearse the whole two-week sequence for sample prospects through the real pipeline."""
    settings = load_settings()
    began, pace, out = _start(settings, start), _pace(speed), console()
    zone = settings.clinic_zone
    out.print(
        f"[bold]Nurture demo[/]: the {DEMO_CAMPAIGN} sequence for {len(DEMO_LEADS)} sample "
        f"prospects, from {local_time(began, zone)}.\nReal capture, dispatcher, Celery "
        "worker (in-process memory broker), gate and console channels; replies are texts "
        "signed for the app's own Twilio webhook. Only the clock is accelerated.\n"
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
        if rehearsed.conversation and rehearsed.aftermath is not None:
            out.print(_outcome(rehearsed, rehearsed.aftermath))
        out.print()
    days = (result.end - result.start).total_seconds() / 86400
    out.print(
        f"Rehearsed {days:.1f} days in {elapsed:.1f} s of real time "
        f"({result.rounds} dispatcher rounds).\n"
    )
    _files(result)
