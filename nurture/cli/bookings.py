"""`nurture bookings`: the day's screenings, cancelling one, and the clinic's availability."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table
from sqlalchemy import select

from nurture.booking.availability import (
    Availability,
    AvailabilityError,
    load_availability,
    read_availability_file,
    save_availability,
)
from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import UnknownBooking, bookings_on, cancel_booking
from nurture.cli.context import cli_clock, clinic_settings, needs_database, sessions
from nurture.cli.output import console, fail
from nurture.leads.models import Lead
from nurture.text import local_time

app = typer.Typer(help="Screening bookings and availability.", no_args_is_help=True)
availability_app = typer.Typer(help="When screenings can be booked.", no_args_is_help=True)
app.add_typer(availability_app, name="availability")

STAFF_SOURCE = "staff-cli"


def _day(value: str | None, today: date) -> date | None:
    if value is None:
        return None
    if value == "today":
        return today
    if value == "tomorrow":
        return today + timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--day {value!r}: use YYYY-MM-DD, 'today' or 'tomorrow'")


def _upcoming(session_bookings: list[Booking], now: datetime) -> list[Booking]:
    return [b for b in session_bookings if b.starts_at is None or b.starts_at >= now]


@app.command("list")
@needs_database
def list_bookings(
    day: Annotated[
        str | None,
        typer.Option(help="One day in the clinic's calendar: YYYY-MM-DD, today or tomorrow."),
    ] = None,
    cancelled: Annotated[bool, typer.Option(help="Include cancelled bookings.")] = False,
) -> None:
    """Screenings on one day, or every upcoming one (and call-back requests)."""
    settings = clinic_settings()
    zone = settings.clinic_zone
    now = cli_clock().now()
    chosen = _day(day, now.astimezone(zone).date())
    with sessions()() as session:
        if chosen is not None:
            rows = bookings_on(session, chosen, settings, include_cancelled=cancelled)
            title = f"Screenings on {chosen:%a %d %b %Y}"
        else:
            query = select(Booking).order_by(Booking.starts_at.is_(None), Booking.starts_at)
            if not cancelled:
                query = query.where(Booking.status != BookingStatus.CANCELLED)
            rows = _upcoming(list(session.scalars(query)), now)
            title = "Upcoming screenings"
        leads = {
            lead.id: lead
            for lead in session.scalars(select(Lead).where(Lead.id.in_({b.lead_id for b in rows})))
        }
    out = console()
    if not rows:
        out.print(f"{title}: none.")
        return
    table = Table(title=f"{title} ({zone.key})", title_justify="left")
    for column in ("id", "when", "name", "email", "phone", "status", "via"):
        table.add_column(column, overflow="fold")
    for booking in rows:
        lead = leads[booking.lead_id]
        table.add_row(
            str(booking.id),
            local_time(booking.starts_at, zone) if booking.starts_at else "call back",
            escape(lead.first_name),
            escape(lead.email),
            escape(lead.phone or "-"),
            booking.status,
            escape(booking.cancel_source or booking.source)
            if booking.status == BookingStatus.CANCELLED
            else escape(booking.source),
        )
    out.print(table)


@app.command()
@needs_database
def cancel(booking_id: Annotated[int, typer.Argument(help="The booking's id (see list).")]) -> None:
    """Cancel a booking: its seat is freed and the lead is told."""
    settings = clinic_settings()
    factory, now = sessions(), cli_clock().now()
    with factory.begin() as session:
        existing = session.get(Booking, booking_id)
        if existing is None:
            fail(f"no booking {booking_id}")
        was = existing.status
        try:
            booking = cancel_booking(session, settings, booking_id, source=STAFF_SOURCE, now=now)
        except UnknownBooking as exc:
            fail(str(exc))
        when = local_time(booking.starts_at, settings.clinic_zone) if booking.starts_at else None
    out = console()
    if was == BookingStatus.CANCELLED:
        out.print(f"Booking {booking_id} was already cancelled.")
        return
    out.print(f"Cancelled booking {booking_id}{f' on {when}' if when else ''}; the lead is told.")


def _summary(availability: Availability, zone: str) -> str:
    days = ", ".join(
        f"{day[:3]} {' '.join(ranges)}" for day, ranges in availability.weekly_hours.items()
    )
    return (
        f"{availability.screening_minutes}-minute screenings, {availability.capacity} at a time, "
        f"{availability.minimum_notice_hours} h notice, {availability.horizon_days} days ahead "
        f"({zone}): {days or 'no opening hours'}; "
        f"{len(availability.closed_dates)} closed date(s)."
    )


@availability_app.command("show")
@needs_database
def show_availability() -> None:
    """Print the availability as YAML (edit it and load it back with `set --file`)."""
    settings = clinic_settings()
    factory, now = sessions(), cli_clock().now()
    with factory.begin() as session:
        availability = load_availability(session, settings, now)
    typer.echo(f"# Screening availability; times are in {settings.clinic_timezone}.")
    typer.echo(availability.as_yaml(), nl=False)


@availability_app.command("set")
@needs_database
def set_availability(
    file: Annotated[
        Path, typer.Option("--file", help="A YAML file like templates/clinic/availability.yaml.")
    ],
) -> None:
    """Replace the availability; bookings already made keep their times."""
    settings = clinic_settings()
    try:
        availability = read_availability_file(file)
    except AvailabilityError as exc:
        fail(f"{file}: " + "; ".join(exc.problems))
    factory, now = sessions(), cli_clock().now()
    with factory.begin() as session:
        save_availability(session, availability, now)
    console().print(f"Saved: {escape(_summary(availability, settings.clinic_timezone))}")
