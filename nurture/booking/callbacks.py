"""Screenings asked for without a time: the front desk calls the patient back and books one.

A lead who asks for a screening but picks no time (a "call me" reply, a request with no
slot free) holds a `requested` booking and no seat. The front desk lists them, phones,
and books the time agreed, which turns the same booking into a confirmed one.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus
from nurture.booking.service import UnknownBooking, book_slot
from nurture.config import Settings
from nurture.leads.models import Lead


class AlreadyHandled(ValueError):
    """The request was booked or cancelled meanwhile; the message says which."""


@dataclass(frozen=True, slots=True)
class CallbackRequest:
    """One patient waiting for the front desk's call."""

    booking_id: int
    first_name: str
    phone: str | None
    email: str
    requested_at: datetime
    source: str


def callback_requests(
    session: Session, location_ids: Collection[int] | None = None
) -> list[CallbackRequest]:
    """Open requests without a time, oldest first (the patient who waited longest); only
    those at `location_ids` when given."""
    query = (
        select(Booking, Lead.first_name, Lead.phone, Lead.email)
        .join(Lead, Lead.id == Booking.lead_id)
        .where(Booking.status == BookingStatus.REQUESTED)
        .order_by(Booking.created_at, Booking.id)
    )
    if location_ids is not None:
        query = query.where(Booking.location_id.in_(location_ids))
    return [
        CallbackRequest(booking.id, first_name, phone, email, booking.created_at, booking.source)
        for booking, first_name, phone, email in session.execute(query)
    ]


def book_callback(
    session: Session,
    settings: Settings,
    booking_id: int,
    starts_at: datetime,
    *,
    source: str,
    now: datetime,
) -> Booking:
    """Book the time agreed on the phone for a request (book_slot's rules and notices).

    Raises UnknownBooking, AlreadyHandled, or book_slot's SlotUnavailable.
    """
    booking = session.get(Booking, booking_id, with_for_update=True, populate_existing=True)
    if booking is None:
        raise UnknownBooking(f"no booking {booking_id}")
    if booking.status != BookingStatus.REQUESTED:
        state = "cancelled" if booking.status == BookingStatus.CANCELLED else "booked"
        raise AlreadyHandled(f"This request was already {state}.")
    return book_slot(session, settings, booking.lead_id, starts_at, source=source, now=now)
