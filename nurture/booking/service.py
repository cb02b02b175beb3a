"""Booking a free screening: seats in slots, moving and cancelling, and the exit goal.

Any booking ends every active sequence for the lead (invariant 4). A booking with a
time holds one seat in its location's slot; the seat table's unique (location,
starts_at, seat) triple is what keeps a slot from being booked beyond its capacity.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking import notices
from nurture.booking.availability import load_availability
from nurture.booking.models import Booking, BookingStatus, DeskStatus
from nurture.booking.slots import check_bookable, free_seat, take_seat
from nurture.config import Settings
from nurture.locations.directory import Locations, lead_settings, place_of_lead
from nurture.messages.models import STEP_KINDS, Message
from nurture.sequences.ending import end_enrollments
from nurture.sequences.follow_up import lead_event
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.webhooks_out.events import emit_booking
from nurture.webhooks_out.models import EventType

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
        messages=[Message.lead_id == lead_id, Message.kind.in_(STEP_KINDS)],
    )


def book_screening(
    session: Session,
    lead_id: int,
    *,
    source: str,
    now: datetime,
    starts_at: datetime | None = None,
) -> Booking:
    """Record a booking (or return the open one) and end the lead's sequences; a new one
    is announced (the lead.booked webhook), whichever door made it."""
    booking, created = _open_booking(session, lead_id, source=source, now=now, starts_at=starts_at)
    if created:
        emit_booking(session, EventType.BOOKED, booking, now)
    return booking


def _open_booking(
    session: Session,
    lead_id: int,
    *,
    source: str,
    now: datetime,
    starts_at: datetime | None = None,
) -> tuple[Booking, bool]:
    """The lead's open booking, made now if there is none (True), with their sequences ended."""
    booking = upcoming_booking(session, lead_id)
    created = booking is None
    if booking is None:
        booking = Booking(
            lead_id=lead_id,
            location_id=place_of_lead(session, lead_id).id,
            status=BookingStatus.REQUESTED,
            source=source,
            starts_at=starts_at,
            created_at=now,
        )
        session.add(booking)
    end_sequences(session, lead_id, now)
    session.flush()
    return booking, created


def request_screening(
    session: Session, settings: Settings, lead_id: int, *, source: str, now: datetime
) -> Booking:
    """A screening asked for without a time (the front desk calls back); tells the front desk
    of the lead's location."""
    settings, _ = lead_settings(session, settings, lead_id)
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
    transaction (and offer other times). The slot is the lead's location's, in its zone.
    """
    settings, place = lead_settings(session, settings, lead_id)
    availability = load_availability(session, settings, now, place.id)
    ends_at = check_bookable(availability, settings.clinic_zone, starts_at, now, offered_at)
    current = upcoming_booking(session, lead_id)
    if current is not None and current.seat_id is not None:
        if current.starts_at == starts_at:
            return current  # the same choice made twice (a double click, a repeated reply)
        return reschedule_booking(
            session, settings, current.id, starts_at, source=source, now=now, offered_at=offered_at
        )
    seat_id = take_seat(session, starts_at, availability.capacity, now, place.id)
    # Announced below, once it holds its seat: the event tells the time booked.
    booking, _ = _open_booking(session, lead_id, source=source, now=now, starts_at=starts_at)
    booking.status = BookingStatus.CONFIRMED
    booking.source, booking.location_id = source, place.id
    booking.starts_at, booking.ends_at, booking.seat_id = starts_at, ends_at, seat_id
    session.flush()
    notices.queue_booked(session, settings, booking, now, moved_from=None)
    emit_booking(session, EventType.BOOKED, booking, now)
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
    # At the lead's location now: a lead staff moved to another clinic is booked there.
    settings, place = lead_settings(session, settings, booking.lead_id)
    availability = load_availability(session, settings, now, place.id)
    ends_at = check_bookable(availability, settings.clinic_zone, new_starts_at, now, offered_at)
    new_seat = take_seat(session, new_starts_at, availability.capacity, now, place.id)
    old_seat, old_starts_at = booking.seat_id, booking.starts_at
    notices.cancel_pending_for(session, booking, "booking moved to another time", now)
    booking.status = BookingStatus.CONFIRMED
    booking.starts_at, booking.ends_at, booking.seat_id = new_starts_at, ends_at, new_seat
    booking.location_id = place.id
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
    emit_booking(session, EventType.BOOKED, booking, now)
    return booking


def cancel_booking(
    session: Session, settings: Settings, booking_id: int, *, source: str, now: datetime
) -> Booking:
    """Cancel a booking and free its seat; cancelling twice changes nothing."""
    booking = _locked(session, booking_id)
    if booking.status == BookingStatus.CANCELLED:
        return booking
    settings = Locations.load(session).settings(settings, booking.location_id)
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
    emit_booking(session, EventType.CANCELLED, booking, now)
    # After the booking ended the sequences: a recovery campaign starts here, not ended by it.
    lead_event(session, settings, booking.lead_id, "booking_cancelled", now)
    return booking


def bookings_on(
    session: Session,
    day: date,
    settings: Settings,
    *,
    include_cancelled: bool = False,
    location_ids: Collection[int] | None = None,
) -> list[Booking]:
    """The bookings whose screening falls on `day` in the clinic's calendar, in time order
    (only those of `location_ids` when given)."""
    zone = settings.clinic_zone
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    query = select(Booking).where(Booking.starts_at >= start, Booking.starts_at < end)
    if location_ids is not None:
        query = query.where(Booking.location_id.in_(location_ids))
    if not include_cancelled:
        query = query.where(Booking.status != BookingStatus.CANCELLED)
    return list(session.scalars(query.order_by(Booking.starts_at, Booking.id)))
