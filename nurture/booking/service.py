"""Booking a free screening: seats in slots, moving and cancelling, and the exit goal.

Any booking ends every active sequence for the lead (invariant 4). A booking with a
time holds one seat in its slot; the seat table's unique (starts_at, seat) pair is
what keeps a slot from being booked beyond its capacity.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking import notices
from nurture.booking.availability import load_availability
from nurture.booking.models import Booking, BookingStatus, DeskStatus
from nurture.booking.slots import check_bookable, free_seat, take_seat
from nurture.config import Settings
from nurture.messages.models import Message, MessageKind
from nurture.sequences.ending import end_enrollments
from nurture.sequences.models import Enrollment, EnrollmentStatus

EXIT_REASON = "exit goal reached: screening booked"


class UnknownBooking(LookupError):
    """No booking has this id."""


class BookingClosed(ValueError):
    """The booking was cancelled: it cannot be moved (book a new one instead)."""


def upcoming_booking(session: Session, lead_id: int) -> Booking | None:
    """The lead's open (not cancelled) booking, if any."""
    return session.scalars(
        select(Booking)
        .where(Booking.lead_id == lead_id, Booking.status != BookingStatus.CANCELLED)
        .order_by(Booking.id.desc())
    ).first()


def end_sequences(session: Session, lead_id: int, now: datetime) -> None:
    """The exit goal: end the lead's active sequences and skip their unsent steps."""
    # Every campaign message of the lead is skipped, a paused sequence's too; the gate
    # checks the booking again at send time for any a worker has already claimed. Notices
    # (replies, this booking's own confirmation) are not campaign steps and still go out.
    end_enrollments(
        session,
        [Enrollment.lead_id == lead_id, Enrollment.status == EnrollmentStatus.ACTIVE],
        EXIT_REASON,
        now,
        messages=[Message.lead_id == lead_id, Message.kind == MessageKind.CAMPAIGN],
    )


def book_screening(
    session: Session,
    lead_id: int,
    *,
    source: str,
    now: datetime,
    starts_at: datetime | None = None,
) -> Booking:
    """Record a booking (or return the open one) and end the lead's sequences."""
    booking = upcoming_booking(session, lead_id)
    if booking is None:
        booking = Booking(
            lead_id=lead_id,
            status=BookingStatus.REQUESTED,
            source=source,
            starts_at=starts_at,
            created_at=now,
        )
        session.add(booking)
    end_sequences(session, lead_id, now)
    session.flush()
    return booking


def request_screening(
    session: Session, settings: Settings, lead_id: int, *, source: str, now: datetime
) -> Booking:
    """A screening asked for without a time (the front desk calls back); tells the front desk."""
    existing = upcoming_booking(session, lead_id)
    booking = book_screening(session, lead_id, source=source, now=now)
    if existing is None:
        notices.queue_front_desk(session, settings, booking, "requested", now)
    return booking


def book_slot(
    session: Session,
    settings: Settings,
    lead_id: int,
    starts_at: datetime,
    *,
    source: str,
    now: datetime,
    offered_at: datetime | None = None,
) -> Booking:
    """Book the slot for the lead (moving their open booking), or SlotUnavailable.

    Nothing is written when the slot cannot be had, so a caller may go on with its
    transaction (and offer other times).
    """
    availability = load_availability(session, settings, now)
    ends_at = check_bookable(availability, settings.clinic_zone, starts_at, now, offered_at)
    current = upcoming_booking(session, lead_id)
    if current is not None and current.seat_id is not None:
        if current.starts_at == starts_at:
            return current  # the same choice made twice (a double click, a repeated reply)
        return reschedule_booking(
            session, settings, current.id, starts_at, source=source, now=now, offered_at=offered_at
        )
    seat_id = take_seat(session, starts_at, availability.capacity, now)
    booking = book_screening(session, lead_id, source=source, now=now, starts_at=starts_at)
    booking.status = BookingStatus.CONFIRMED
    booking.source = source
    booking.starts_at, booking.ends_at, booking.seat_id = starts_at, ends_at, seat_id
    session.flush()
    notices.queue_booked(session, settings, booking, now, moved_from=None)
    return booking


def _locked(session: Session, booking_id: int) -> Booking:
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is None:
        raise UnknownBooking(f"no booking {booking_id}")
    return booking


def reschedule_booking(
    session: Session,
    settings: Settings,
    booking_id: int,
    new_starts_at: datetime,
    *,
    source: str,
    now: datetime,
    offered_at: datetime | None = None,
) -> Booking:
    """Move a booking to another slot; the new seat is taken before the old one is freed."""
    booking = _locked(session, booking_id)
    if booking.status == BookingStatus.CANCELLED:
        raise BookingClosed(f"booking {booking_id} was cancelled")
    if booking.seat_id is not None and booking.starts_at == new_starts_at:
        return booking
    availability = load_availability(session, settings, now)
    ends_at = check_bookable(availability, settings.clinic_zone, new_starts_at, now, offered_at)
    new_seat = take_seat(session, new_starts_at, availability.capacity, now)
    old_seat, old_starts_at = booking.seat_id, booking.starts_at
    notices.cancel_pending_for(session, booking, "booking moved to another time", now)
    booking.status = BookingStatus.CONFIRMED
    booking.starts_at, booking.ends_at, booking.seat_id = new_starts_at, ends_at, new_seat
    # A new time is a new appointment: whatever the front desk knew was about the old one.
    booking.desk_status, booking.desk_status_at = DeskStatus.BOOKED, None
    booking.calendar_sequence += 1
    session.flush()
    if old_seat is not None:
        free_seat(session, old_seat)
    end_sequences(session, booking.lead_id, now)
    # A time given to a call-back request is its first confirmation, not a move.
    moved_from = old_starts_at if old_seat is not None else None
    notices.queue_booked(session, settings, booking, now, moved_from=moved_from)
    return booking


def cancel_booking(
    session: Session, settings: Settings, booking_id: int, *, source: str, now: datetime
) -> Booking:
    """Cancel a booking and free its seat; cancelling twice changes nothing."""
    booking = _locked(session, booking_id)
    if booking.status == BookingStatus.CANCELLED:
        return booking
    notices.cancel_pending_for(session, booking, "booking cancelled", now)
    seat = booking.seat_id
    booking.status = BookingStatus.CANCELLED
    booking.seat_id = None
    booking.cancelled_at, booking.cancel_source = now, source
    booking.calendar_sequence += 1
    session.flush()
    if seat is not None:
        free_seat(session, seat)
    notices.queue_cancelled(session, settings, booking, now)
    return booking


def bookings_on(
    session: Session, day: date, settings: Settings, *, include_cancelled: bool = False
) -> list[Booking]:
    """The bookings whose screening falls on `day` in the clinic's calendar, in time order."""
    zone = settings.clinic_zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    query = select(Booking).where(Booking.starts_at >= start, Booking.starts_at < end)
    if not include_cancelled:
        query = query.where(Booking.status != BookingStatus.CANCELLED)
    return list(session.scalars(query.order_by(Booking.starts_at, Booking.id)))
