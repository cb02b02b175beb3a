"""Console pages: the week's screenings and the front desk's moves, and its calendar feed.

`feed_router` serves /calendar/{token}.ics outside /admin: calendar apps fetch it
without the console's cookie (scoped to /admin), so the private link is the credential.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response

from nurture.booking.callbacks import AlreadyHandled, book_callback, callback_requests
from nurture.booking.display import when
from nurture.booking.feed import feed_url, reset_feed, screenings_feed, staff_feed, staff_for_token
from nurture.booking.front_desk import (
    DeskRefused,
    cancel_screening,
    move_desk_status,
    screenings_by_day,
)
from nurture.booking.models import Booking, DeskStatus
from nurture.booking.service import UnknownBooking
from nurture.booking.slots import SlotUnavailable, open_slots
from nurture.clock import parse_moment
from nurture.config import Settings
from nurture.locations.directory import Locations, in_scope, staff_scope
from nurture.locations.models import DEFAULT_LOCATION_ID
from nurture.staff.models import StaffUser
from nurture.staff.service import record_audit
from nurture.web.admin.auth import check_csrf
from nurture.web.admin.deps import BookingsUser, RowId, actor
from nurture.web.admin.pages import admin_page, redirect_with_notice
from nurture.web.deps import ClockDep, SessionDep, SettingsDep

router = APIRouter(prefix="/admin", dependencies=[Depends(check_csrf)])
# Ids fit the database's integer: a larger one is a 422, not a database error.
feed_router = APIRouter()

DAYS_SHOWN = 8  # today and the next seven
SLOTS_OFFERED = 30
REACH = timedelta(days=3653)
BAD_TIME = "Screening time: choose one of the listed times."
# The desk moves a button may ask for: URL word -> (new desk status, audit action, notice).
MOVES: dict[str, tuple[DeskStatus, str, str]] = {
    "confirm": (DeskStatus.CONFIRMED, "booking.confirmed", "Screening confirmed."),
    "attended": (DeskStatus.ATTENDED, "booking.attended", "Marked as attended."),
    "no-show": (DeskStatus.NO_SHOW, "booking.no_show", "Marked as a no-show."),
}


def _first_day(value: str, settings: Settings, now: datetime) -> tuple[date, str | None]:
    """The week's first day from the query, else today; and the problem with the query, if any."""
    today = now.astimezone(settings.clinic_zone).date()
    value = value.strip()[:40]
    if not value:
        return today, None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return today, f"Day: “{value}” is not a date; use the form 2026-11-02."
    # Far-off years are typing mistakes (and the year 9999 would overflow a week's maths).
    if abs(day - today) > REACH:
        return today, f"Day: {value} is too far away; pick a date within ten years."
    return day, None


def _week_url(day: date) -> str:
    return f"/admin/bookings?day={day.isoformat()}"


def _bookings_page(
    request: Request,
    user: StaffUser,
    session: Session,
    settings: Settings,
    now: datetime,
    first: date,
    problems: list[str],
    status_code: int = 200,
) -> Response:
    # A desk limited to its clinics sees only theirs, in the first one's zone and hours.
    scope = staff_scope(user.location_ids)
    location_id = scope[0] if scope else DEFAULT_LOCATION_ID
    settings = Locations.load(session).settings(settings, location_id)
    zone = settings.clinic_zone
    feed = staff_feed(session, user.id)

    def time_of(moment: datetime) -> str:
        label = when(moment, zone)
        return f"{label.time} {label.zone}"

    label_day: Callable[[date], str] = lambda day: f"{day:%A, %B} {day.day}"  # noqa: E731
    callbacks = callback_requests(session, scope)
    context = {
        "days": screenings_by_day(session, first, DAYS_SHOWN, zone, scope),
        "callbacks": callbacks,
        # The free times to offer on the phone, read only when somebody is waiting.
        "slots": [
            (slot.starts_at.isoformat(), when(slot.starts_at, zone).full)
            for slot in open_slots(
                session, settings, now=now, limit=SLOTS_OFFERED, location_id=location_id
            )
        ]
        if callbacks
        else [],
        "when_of": lambda moment: when(moment, zone).full,
        "first": first,
        "now": now,
        "moves": DeskStatus,
        "today": now.astimezone(zone).date(),
        "previous_url": _week_url(first - timedelta(days=7)),
        "next_url": _week_url(first + timedelta(days=7)),
        "time_of": time_of,
        "label_day": label_day,
        "problems": problems,
        "feed_url": feed_url(settings, feed) if feed else None,
        "has_feed": feed is not None,
        "zone": zone.key,
    }
    return admin_page(request, user, "bookings/week.html", context, status_code, section="bookings")


def _check_scope(session: Session, user: StaffUser, booking_id: int) -> None:
    """404 for a screening at a clinic this member of staff is not limited to."""
    location_id = session.scalar(select(Booking.location_id).where(Booking.id == booking_id))
    if location_id is not None and not in_scope(staff_scope(user.location_ids), location_id):
        raise HTTPException(404, "There is no such screening")


@router.get("/bookings")
def bookings(
    request: Request,
    user: BookingsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    day: str = "",
) -> Response:
    """The screenings from `day` (default today) for a week, by day in the clinic's zone."""
    now = clock.now()
    first, problem = _first_day(day, settings, now)
    problems = [problem] if problem else []
    return _bookings_page(
        request, user, session, settings, now, first, problems, 400 if problem else 200
    )


def _back(
    request: Request,
    user: StaffUser,
    session: Session,
    settings: Settings,
    now: datetime,
    day: str,
    problem: str,
) -> Response:
    """The week again with the refusal on it (nothing was changed)."""
    session.rollback()
    first, _ = _first_day(day, settings, now)
    return _bookings_page(request, user, session, settings, now, first, [problem], 409)


@router.post("/bookings/{booking_id}/cancel")
def cancel(
    request: Request,
    booking_id: RowId,
    user: BookingsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    day: Annotated[str, Form()] = "",
) -> Response:
    """Cancel the screening and tell the patient, as if they had cancelled it themselves."""
    _check_scope(session, user, booking_id)
    now = clock.now()
    try:
        cancel_screening(session, settings, booking_id, now=now)
    except UnknownBooking:
        raise HTTPException(404, "There is no such screening") from None
    except DeskRefused as refused:
        return _back(request, user, session, settings, now, day, str(refused))
    record_audit(session, actor(request, user), "booking.cancelled", now, str(booking_id))
    session.commit()
    first, _ = _first_day(day, settings, now)
    return redirect_with_notice(
        request, _week_url(first), "Screening cancelled; the patient is being told."
    )


@router.post("/bookings/{booking_id}/book")
def book_requested(
    request: Request,
    booking_id: RowId,
    user: BookingsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    starts_at: Annotated[str, Form(max_length=40)] = "",
    day: Annotated[str, Form()] = "",
) -> Response:
    """Book the time agreed with a patient who asked to be called back."""
    _check_scope(session, user, booking_id)
    now = clock.now()
    chosen = parse_moment(starts_at)
    if chosen is None:
        return _back(request, user, session, settings, now, day, BAD_TIME)
    try:
        booking = book_callback(session, settings, booking_id, chosen, source="staff", now=now)
    except UnknownBooking:
        raise HTTPException(404, "There is no such request") from None
    except (AlreadyHandled, SlotUnavailable) as exc:
        reason = str(exc) if isinstance(exc, AlreadyHandled) else f"{exc.reason}."
        label = when(chosen, settings.clinic_zone).full
        return _back(request, user, session, settings, now, day, f"{label}: {reason}")
    detail = {"starts_at": chosen.isoformat()}
    record_audit(session, actor(request, user), "booking.booked", now, str(booking.id), detail)
    session.commit()
    first, _ = _first_day(day, settings, now)
    label = when(chosen, settings.clinic_zone).full
    return redirect_with_notice(
        request, _week_url(first), f"Screening booked for {label}; the confirmation is queued."
    )


@router.post("/bookings/{booking_id}/{move}")
def move_booking(
    request: Request,
    booking_id: RowId,
    move: str,
    user: BookingsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
    day: Annotated[str, Form()] = "",
) -> Response:
    """Confirm a screening, or record that the patient came or did not."""
    if move not in MOVES:
        raise HTTPException(404, "There is no such action")
    status, action, notice = MOVES[move]
    _check_scope(session, user, booking_id)
    now = clock.now()
    try:
        booking: Booking = move_desk_status(session, settings, booking_id, status, now=now)
    except UnknownBooking:
        raise HTTPException(404, "There is no such screening") from None
    except DeskRefused as refused:
        return _back(request, user, session, settings, now, day, str(refused))
    record_audit(session, actor(request, user), action, now, str(booking.id))
    session.commit()
    first, _ = _first_day(day, settings, now)
    return redirect_with_notice(request, _week_url(first), notice)


@router.post("/bookings/calendar-feed")
def reset_calendar_feed(
    request: Request,
    user: BookingsUser,
    session: SessionDep,
    clock: ClockDep,
    settings: SettingsDep,
) -> Response:
    """A new private calendar link for this member of staff; the old one stops working."""
    now = clock.now()
    _, first = reset_feed(session, settings, user.id, now)
    record_audit(
        session,
        actor(request, user),
        "calendar_feed.reset",
        now,
        f"staff:{user.id}",
        {"first": first},
    )
    session.commit()
    notice = (
        "Your calendar link is ready."
        if first
        else "New calendar link made; the old one no longer works."
    )
    return redirect_with_notice(request, "/admin/bookings#calendar-feed", notice)


@feed_router.get("/calendar/{token}.ics")
def calendar_feed(
    token: str, session: SessionDep, clock: ClockDep, settings: SettingsDep
) -> Response:
    """The screenings as an iCalendar feed, for the member of staff whose link this is."""
    if staff_for_token(session, token) is None:
        raise HTTPException(404, "There is no such calendar")
    data = screenings_feed(session, settings, settings.clinic_zone, clock.now())
    return Response(
        data,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": 'inline; filename="screenings.ics"',
            # A reset must take effect at once, so no cache may keep the old answer.
            "Cache-Control": "no-store",
            "X-Robots-Tag": "noindex",
        },
    )
