"""`nurture leads`: staff entry, look-ups and bookings."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table
from sqlalchemy import func, select

from nurture.booking.models import BookingStatus
from nurture.booking.service import book_screening
from nurture.cli.context import cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.lead_import import import_leads
from nurture.cli.output import console, fail
from nurture.cli.tables import timeline_view
from nurture.consent.ledger import Evidence
from nurture.consent.policy import SendingPolicy
from nurture.leads.actions import move_to_location
from nurture.leads.admin import (
    LeadNotFound,
    bookings,
    consent_history,
    find_lead,
    lead_page,
    lead_timelines,
)
from nurture.leads.articles import UnknownArticle
from nurture.leads.capture import capture_lead
from nurture.leads.export import write_leads_csv
from nurture.leads.search import parse_filter
from nurture.leads.submission import ConsentChoice, LeadSubmission
from nurture.leads.zone import lead_zone
from nurture.locations.directory import UnknownLocation
from nurture.messages.models import STEP_KINDS, WAITING_STATUSES, Message
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.text import local_time

app = typer.Typer(help="Leads: add, list, show, book, import, export.", no_args_is_help=True)
app.command("import")(import_leads)
DEFAULT_ARTICLE = "tight-hamstrings-sciatic-nerve"


# The submission's fields as the options that set them.
OPTION_FOR_FIELD = {"consent": "--sms-consent", "first_name": "--first-name"}


def _submission(**values: object) -> LeadSubmission:
    try:
        return LeadSubmission.model_validate(values)
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else ""
            option = OPTION_FOR_FIELD.get(field, f"--{field}")
            problems.append(f"{option}: {error['msg'].removeprefix('Value error, ')}")
        fail("; ".join(problems))


@app.command()
@needs_database
def add(
    email: Annotated[str, typer.Option(help="The lead's email address.")],
    first_name: Annotated[str, typer.Option(help="The lead's first name.")],
    phone: Annotated[
        str | None, typer.Option(help="Mobile number (US numbers need no +1).")
    ] = None,
    timezone: Annotated[str | None, typer.Option(help="IANA zone, e.g. America/Chicago.")] = None,
    sms_consent: Annotated[
        bool, typer.Option("--sms-consent", help="The lead agreed to text messages.")
    ] = False,
    article: Annotated[str, typer.Option(help="The article they asked for.")] = DEFAULT_ARTICLE,
    location: Annotated[
        str | None, typer.Option(help="Their clinic's slug; without it, the nearest one.")
    ] = None,
) -> None:
    """Enter a lead by hand (they agreed to email; --sms-consent if they agreed to texts)."""
    settings = clinic_settings()
    submission = _submission(
        article=article,
        first_name=first_name,
        email=email,
        phone=phone,
        timezone=timezone,
        location=location,
        consent=ConsentChoice(email=True, sms=sms_consent),
    )
    factory, now = sessions(), cli_clock().now()
    try:
        with factory.begin() as session:
            result = capture_lead(session, submission, Evidence("cli"), now, settings)
    except UnknownArticle:
        fail(f"--article {article!r}: no such article under {settings.templates_dir / 'articles'}")
    except UnknownLocation as exc:
        fail(f"--location: {exc}; see `nurture locations list`")
    out = console()
    verb = "Added" if result.created else "Updated"
    out.print(
        f"{verb} {escape(submission.first_name)} <{submission.email}> ({result.lead_public_id})"
    )
    with factory() as session:
        enrollment = session.scalars(
            select(Enrollment)
            .where(Enrollment.lead_id == result.lead_id)
            .order_by(Enrollment.enrolled_at.desc())
        ).first()
    if enrollment is None:
        out.print(
            "[yellow]Not enrolled:[/] the article's campaign is not synced or not active "
            "(run `nurture campaigns sync`)."
        )
    elif result.enrolled and enrollment.next_due_at is not None:
        zone = lead_zone(submission.timezone, submission.phone, settings.clinic_zone)
        out.print(
            f"Enrolled: first step {enrollment.next_step_key} due "
            f"{local_time(enrollment.next_due_at, zone)}."
        )
    else:
        out.print(f"Already enrolled (sequence {enrollment.status}).")


@app.command("list")
@needs_database
def list_leads(
    page: Annotated[int, typer.Option(min=1, help="Page number, from 1.")] = 1,
    per_page: Annotated[int, typer.Option(min=1, max=500, help="Leads per page.")] = 25,
) -> None:
    """Leads, newest first, with their sequence status and next step."""
    settings = clinic_settings()
    with sessions()() as session:
        rows, total = lead_page(session, settings.clinic_zone, page=page, per_page=per_page)
    pages = max(1, -(-total // per_page))
    table = Table(title=f"Leads: page {page} of {pages} ({total} in all)", title_justify="left")
    table.add_column("public id", no_wrap=True)  # staff copy it whole
    for column in ("name", "email", "status", "next step", "next due"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.public_id,
            escape(row.first_name),
            escape(row.masked_email),
            row.status,
            row.next_step or "-",
            local_time(row.next_due, row.zone) if row.next_due else "-",
        )
    console().print(table)


@app.command()
@needs_database
def show(email: Annotated[str, typer.Argument(help="The lead's email address.")]) -> None:
    """One lead: details, consent evidence, bookings and every message with its status."""
    settings = clinic_settings()
    out = console()
    with sessions()() as session:
        try:
            lead = find_lead(session, email)
        except LeadNotFound as exc:
            fail(str(exc))
        zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
        out.print(f"[bold]{escape(lead.first_name)}[/] <{escape(lead.email)}>")
        out.print(f"  public id  {lead.public_id}")
        out.print(f"  phone      {escape(lead.phone or '-')}")
        out.print(f"  time zone  {zone.key}")
        out.print(f"  source     {escape(lead.source)}, {local_time(lead.created_at, zone)}")
        ledger = Table(title="Consent ledger", title_justify="left")
        for column in ("when", "channel", "action", "source", "wording"):
            ledger.add_column(column)
        for event in consent_history(session, lead.id):
            ledger.add_row(
                local_time(event.occurred_at, zone),
                event.channel,
                event.action,
                escape(event.source),
                event.wording_version or "-",
            )
        out.print(ledger)
        for booking in bookings(session, lead.id):
            out.print(
                f"Booking: {booking.status} via {escape(booking.source)}, "
                f"{local_time(booking.created_at, zone)}"
            )
        policy = SendingPolicy.from_settings(settings)
        for timeline in lead_timelines(session, lead, settings.clinic_zone, policy):
            title = f"{timeline.campaign_slug}: {timeline.status}"
            if timeline.end_reason:
                title += f" ({timeline.end_reason})"
            out.print(f"\n[bold]{escape(title)}[/]")
            out.print(timeline_view(timeline))


@app.command()
@needs_database
def book(email: Annotated[str, typer.Argument(help="The lead's email address.")]) -> None:
    """Record that the lead booked a free screening: their sequence ends now."""
    factory, now = sessions(), cli_clock().now()
    with factory.begin() as session:
        try:
            lead = find_lead(session, email)
        except LeadNotFound as exc:
            fail(str(exc))
        pending = (
            session.scalar(
                select(func.count(Message.id)).where(
                    Message.lead_id == lead.id,
                    Message.kind.in_(STEP_KINDS),
                    Message.status.in_(WAITING_STATUSES),
                )
            )
            or 0
        )
        active = (
            session.scalar(
                select(func.count(Enrollment.id)).where(
                    Enrollment.lead_id == lead.id, Enrollment.status == EnrollmentStatus.ACTIVE
                )
            )
            or 0
        )
        earlier = [b for b in bookings(session, lead.id) if b.status != BookingStatus.CANCELLED]
        book_screening(session, lead.id, source="cli", now=now)
        first_name = lead.first_name
    out = console()
    if earlier:
        out.print(f"{escape(first_name)} already had a booking (via {escape(earlier[0].source)}).")
    else:
        out.print(f"Booked a free screening for {escape(first_name)}.")
    ended = "the sequence has ended" if active else "no sequence was running"
    out.print(f"{pending} pending message(s) skipped; {ended}.")


@app.command()
@needs_database
def move(
    email: Annotated[str, typer.Argument(help="The lead's email address.")],
    location: Annotated[str, typer.Argument(help="The location's slug (nurture locations list).")],
) -> None:
    """Make the lead a patient of another location: its number, hours and slots from now on."""
    with sessions().begin() as session:
        try:
            lead = find_lead(session, email)
            moved = move_to_location(session, lead.id, location)
        except (LeadNotFound, UnknownLocation) as exc:
            fail(str(exc))
    where = escape(location.strip().lower())
    console().print(f"Moved to {where}." if moved else f"Already at {where}: nothing changed.")


YesNo = Annotated[str | None, typer.Option(help="yes or no.", metavar="yes|no")]
Day = Annotated[str | None, typer.Option(help="A date, YYYY-MM-DD, in the clinic's calendar.")]


@app.command()
@needs_database
def export(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="CSV file to write (default: stdout).")
    ] = None,
    campaign: Annotated[
        str | None, typer.Option(help="Only leads in this campaign (slug).")
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(
            help="Only leads with a sequence in this state.",
            metavar="active|paused|completed|exited",
        ),
    ] = None,
    email_consent: YesNo = None,
    sms_consent: YesNo = None,
    booked: YesNo = None,
    signed_up_from: Day = None,
    signed_up_to: Day = None,
    opened: Annotated[
        str | None, typer.Option(help="Opened an email of any step: yes or no.", metavar="yes|no")
    ] = None,
    clicked: Annotated[
        str | None,
        typer.Option(help="Clicked a link in an email or text: yes or no.", metavar="yes|no"),
    ] = None,
    replied: YesNo = None,
    not_engaged_days: Annotated[
        str | None,
        typer.Option(help="No open, click or reply in this many days.", metavar="DAYS"),
    ] = None,
    variant: Annotated[
        str | None, typer.Option(help="Sent this A/B variant of a tested step.", metavar="KEY")
    ] = None,
) -> None:
    """Leads as CSV, newest first, filtered as the console's lead list filters them."""
    settings = clinic_settings()
    values = {
        "campaign": campaign,
        "status": status,
        "email_consent": email_consent,
        "sms_consent": sms_consent,
        "booked": booked,
        "signed_up_from": signed_up_from,
        "signed_up_to": signed_up_to,
        "opened": opened,
        "clicked": clicked,
        "replied": replied,
        "not_engaged_days": not_engaged_days,
        "variant": variant,
    }
    with sessions()() as session:
        wanted, problems = parse_filter(
            session,
            {k: v for k, v in values.items() if v is not None},
            settings.clinic_zone,
            cli_clock().now(),
        )
        if problems:
            fail(
                "; ".join(f"--{name.replace('_', '-')}: {text}" for name, text in problems.items())
            )
        if out is None:
            write_leads_csv(session, sys.stdout, wanted, settings.clinic_zone)
            return
        try:
            with out.open("w", newline="", encoding="utf-8") as handle:
                count = write_leads_csv(session, handle, wanted, settings.clinic_zone)
        except OSError as exc:
            fail(f"--out {out}: {exc.strerror or exc}")
    console().print(f"wrote {count} leads to {out}")
