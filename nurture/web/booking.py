"""The booking pages behind a message's signed link: pick a time, see it, move it, cancel it.

Every step is a plain form POST, so it works without JavaScript. Opening a link never
changes anything (mail scanners fetch links); only the buttons do. Each page is in the
lead's language, its times too.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Form, Request
from fastapi.routing import APIRouter
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from nurture.booking.calendar import screening_calendar
from nurture.booking.display import When, at_clinic
from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import book_slot as book_slot_for_lead
from nurture.booking.service import cancel_booking, request_screening, upcoming_booking
from nurture.booking.slots import Slot, SlotUnavailable, open_slots
from nurture.clock import Clock, parse_moment
from nurture.config import Settings
from nurture.consent.preferences import lead_from_token
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.locations.directory import Locations, lead_settings
from nurture.web.deps import ClockDep, SessionDep, SettingsDep
from nurture.web.i18n import N_, use_language
from nurture.web.pages import as_location, render

log = logging.getLogger(__name__)
router = APIRouter()

SLOTS_SHOWN = 10
SOURCE = "booking-link"
TAKEN = N_(
    "Sorry, that time was just taken or is no longer available. Here are the times still open."
)


@dataclass(frozen=True, slots=True)
class SlotChoice:
    value: str  # the slot start, ISO 8601 UTC, posted back by the form
    label: str  # "10:00 AM CST"


@dataclass(frozen=True, slots=True)
class SlotDay:
    label: str  # "Tuesday, November 3"
    slots: list[SlotChoice]


def _at_clinic(settings: Settings, lead: Lead, moment: datetime) -> When:
    # The screening is at the clinic: its clock decides, the lead's is added if it differs.
    zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
    return at_clinic(moment, settings.clinic_zone, zone, lead.language)


def slot_days(slots: list[Slot], settings: Settings, lead: Lead) -> list[SlotDay]:
    """Slots grouped by day on the clinic's calendar."""
    days: list[SlotDay] = []
    for slot in slots:
        words = _at_clinic(settings, lead, slot.starts_at)
        choice = SlotChoice(slot.starts_at.isoformat(), words.clock)
        if days and days[-1].label == words.day:
            days[-1].slots.append(choice)
        else:
            days.append(SlotDay(words.day, [choice]))
    return days


def parse_slot(value: str) -> datetime | None:
    """The posted slot start as aware UTC, or None when it is not a time we could book."""
    return parse_moment(value)


def _booking_when(settings: Settings, lead: Lead, booking: Booking | None) -> When | None:
    if booking is None or booking.starts_at is None:
        return None
    return _at_clinic(settings, lead, booking.starts_at)


def _slot_page(
    request: Request,
    session: Session,
    settings: Settings,
    clock: Clock,
    token: str,
    *,
    rescheduling: bool = False,
    problem: str | None = None,
    after: str = "",
    status_code: int = 200,
) -> Response:
    """Open times for the lead (to book, or to move their booking to)."""
    # Read only: the request's session is rolled back when it closes.
    lead, booking = _lead_and_booking(session, settings, token)
    settings, location_id = _as_lead_location(request, session, settings, lead)
    use_language(request, lead.language)
    timed = booking is not None and booking.starts_at is not None
    if timed and booking is not None and not rescheduling:
        return _booked_page(request, settings, token, lead, booking, "existing")
    slots = open_slots(
        session,
        settings,
        now=clock.now(),
        start=parse_slot(after),
        limit=SLOTS_SHOWN,
        location_id=location_id,
    )
    context = {
        "first_name": lead.first_name,
        "token": token,
        "days": slot_days(slots, settings, lead),
        "clinic_zone": settings.clinic_timezone.replace("_", " "),
        # Slots never overlap, so the next page starts where the last slot shown ends.
        "later": slots[-1].ends_at.isoformat() if len(slots) == SLOTS_SHOWN else None,
        "current": _booking_when(settings, lead, booking),
        "requested": booking is not None and not timed,
        "rescheduling": rescheduling and timed,
        "problem": problem,
    }
    return render(request, "book.html", context, status_code)


def _booked_page(
    request: Request, settings: Settings, token: str, lead: Lead, booking: Booking, state: str
) -> Response:
    use_language(request, lead.language)
    context = {
        "first_name": lead.first_name,
        "token": token,
        "state": state,  # "booked", "moved", "existing" or "requested"
        "when": _booking_when(settings, lead, booking),
    }
    return render(request, "booked.html", context)


def _as_lead_location(
    request: Request, session: Session, settings: Settings, lead: Lead
) -> tuple[Settings, int]:
    """The lead's location's settings (its name, zone, hours), which the page is then
    rendered as; and the location's id."""
    local, place = lead_settings(session, settings, lead.id)
    as_location(request, local)
    return local, place.id


def _lead_and_booking(
    session: Session, settings: Settings, token: str
) -> tuple[Lead, Booking | None]:
    """The lead a booking link names, and their open booking if they have one."""
    lead, _ = lead_from_token(session, settings, "book", token)
    return lead, upcoming_booking(session, lead.id)


@router.get("/book/{token}")
def booking_page(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    after: str = "",
) -> Response:
    """The lead's booking, or the next open times to pick from."""
    return _slot_page(request, session, settings, clock, token, after=after)


def _choose(
    request: Request,
    session: Session,
    settings: Settings,
    clock: Clock,
    token: str,
    slot: str,
    *,
    rescheduling: bool,
) -> Response:
    """Book (or move the booking to) the posted time; a lost race shows fresh times."""
    starts_at = parse_slot(slot)

    def taken() -> Response:
        return _slot_page(
            request,
            session,
            settings,
            clock,
            token,
            rescheduling=rescheduling,
            problem=TAKEN,
            status_code=409,
        )

    if starts_at is None:
        return taken()
    try:
        with session.begin():
            lead, before = _lead_and_booking(session, settings, token)
            held = before.starts_at if before is not None and before.seat_id else None
            booking = book_slot_for_lead(
                session, settings, lead.id, starts_at, source=SOURCE, now=clock.now()
            )
    except SlotUnavailable as exc:
        log.info("booking link: slot not available (%s)", exc.reason)
        return taken()
    except IntegrityError:
        # The same lead booking twice at once (two tabs): the other request won.
        return _slot_page(request, session, settings, clock, token)
    state = "booked" if held is None else "existing" if held == starts_at else "moved"
    log.info("lead %s %s a screening via %s", lead.public_id, state, SOURCE)
    settings, _ = _as_lead_location(request, session, settings, lead)
    return _booked_page(request, settings, token, lead, booking, state)


@router.post("/book/{token}")
def book(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    slot: Annotated[str, Form()] = "",
) -> Response:
    """Book the chosen time; without one, ask the front desk to call (no times open)."""
    if slot:
        return _choose(request, session, settings, clock, token, slot, rescheduling=False)
    with session.begin():
        lead, _ = lead_from_token(session, settings, "book", token)
        booking = request_screening(session, settings, lead.id, source=SOURCE, now=clock.now())
        settings, _ = _as_lead_location(request, session, settings, lead)
    log.info("lead %s requested a screening via %s", lead.public_id, SOURCE)
    state = "requested" if booking.starts_at is None else "existing"
    return _booked_page(request, settings, token, lead, booking, state)


@router.get("/book/{token}/reschedule")
def reschedule_page(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    after: str = "",
) -> Response:
    """Open times to move the booking to; the current time is kept until a new one is had."""
    return _slot_page(request, session, settings, clock, token, rescheduling=True, after=after)


@router.post("/book/{token}/reschedule")
def reschedule(
    request: Request,
    token: str,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    slot: Annotated[str, Form()] = "",
) -> Response:
    """Move the booking to the chosen time (or book it, when there is none any more)."""
    return _choose(request, session, settings, clock, token, slot, rescheduling=True)


@router.get("/book/{token}/cancel")
def cancel_page(
    request: Request, token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Ask to confirm the cancellation; opening the link changes nothing."""
    with session.begin():
        lead, booking = _lead_and_booking(session, settings, token)
        local, _ = _as_lead_location(request, session, settings, lead)
        current = _booking_when(local, lead, booking)
        use_language(request, lead.language)
    if booking is None:
        return _slot_page(request, session, settings, clock, token)
    context = {"first_name": lead.first_name, "token": token, "when": current}
    return render(request, "book_cancel.html", context)


@router.post("/book/{token}/cancel")
def cancel(
    request: Request, token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """Cancel the lead's booking (a second click changes nothing)."""
    with session.begin():
        lead, booking = _lead_and_booking(session, settings, token)
        local, _ = _as_lead_location(request, session, settings, lead)
        cancelled = _booking_when(local, lead, booking)
        if booking is not None:
            cancel_booking(session, settings, booking.id, source=SOURCE, now=clock.now())
            log.info("lead %s cancelled a screening via %s", lead.public_id, SOURCE)
        use_language(request, lead.language)
    context = {"token": token, "when": cancelled, "had_booking": booking is not None}
    return render(request, "book_cancelled.html", context)


@router.get("/book/{token}/calendar.ics")
def calendar_file(
    token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """The booking as a calendar file to add (the same event the confirmation invited to)."""
    with session.begin():
        lead, booking = _lead_and_booking(session, settings, token)
        if booking is None or booking.status != BookingStatus.CONFIRMED:
            raise HTTPException(404, "There is no booked screening to add to a calendar")
        local = Locations.load(session).settings(settings, booking.location_id)
        data = screening_calendar(local, booking, lead, method="PUBLISH", stamp=clock.now())
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="screening.ics"'},
    )
