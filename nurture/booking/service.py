"""Booking a free screening ends every active sequence for the lead (the exit goal)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus

EXIT_REASON = "exit goal reached: screening booked"


def book_screening(
    session: Session,
    lead_id: int,
    *,
    source: str,
    now: datetime,
    starts_at: datetime | None = None,
) -> Booking:
    """Record a booking (or return the open one) and end the lead's sequences."""
    booking = session.scalars(
        select(Booking).where(Booking.lead_id == lead_id, Booking.status != BookingStatus.CANCELLED)
    ).first()
    if booking is None:
        booking = Booking(
            lead_id=lead_id,
            status=BookingStatus.REQUESTED,
            source=source,
            starts_at=starts_at,
            created_at=now,
        )
        session.add(booking)
    session.execute(
        update(Enrollment)
        .where(Enrollment.lead_id == lead_id, Enrollment.status == EnrollmentStatus.ACTIVE)
        .values(
            status=EnrollmentStatus.EXITED,
            next_step_key=None,
            next_due_at=None,
            ended_at=now,
            end_reason=EXIT_REASON,
        )
    )
    # Messages already written but not handed off are skipped here; the gate checks
    # the booking again at send time for any a worker has already claimed.
    session.execute(
        update(Message)
        .where(
            Message.lead_id == lead_id,
            Message.status.in_([MessageStatus.QUEUED, MessageStatus.HELD]),
        )
        .values(status=MessageStatus.SKIPPED, reason=EXIT_REASON, updated_at=now)
    )
    session.flush()
    return booking
