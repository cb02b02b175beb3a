"""A known clinic week for booking tests, independent of the shipped availability file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from nurture.booking.availability import parse_availability, save_availability
from nurture.booking.models import Booking, BookingSeat
from nurture.clock import Clock
from nurture.messages.models import Message

# Weekdays 09:00-12:00 and 13:00-17:00 in Chicago, Saturday mornings, Sunday closed.
WEEK: dict[str, Any] = {
    "screening_minutes": 30,
    "capacity": 1,
    "minimum_notice_hours": 12,
    "horizon_days": 21,
    "weekly_hours": {
        "monday": ["09:00-12:00", "13:00-17:00"],
        "tuesday": ["09:00-12:00", "13:00-17:00"],
        "wednesday": ["09:00-12:00", "13:00-17:00"],
        "thursday": ["09:00-12:00", "13:00-17:00"],
        "friday": ["09:00-12:00", "13:00-17:00"],
        "saturday": ["09:00-12:00"],
    },
    "closed_dates": [],
}
# Tuesday 3 November 2026, 09:00 and 09:30 in Chicago (CST, UTC-6).
TUE_0900 = datetime(2026, 11, 3, 15, 0, tzinfo=UTC)
TUE_0930 = datetime(2026, 11, 3, 15, 30, tzinfo=UTC)
TUE_1000 = datetime(2026, 11, 3, 16, 0, tzinfo=UTC)


def set_availability(factory: sessionmaker[Session], clock: Clock, **changes: Any) -> None:
    """Store WEEK with `changes` as the clinic's availability."""
    with factory.begin() as session:
        save_availability(session, parse_availability({**WEEK, **changes}), clock.now())


def bookings(factory: sessionmaker[Session]) -> list[Booking]:
    with factory() as session:
        return list(session.scalars(select(Booking).order_by(Booking.id)))


def seats(factory: sessionmaker[Session]) -> list[tuple[datetime, int]]:
    with factory() as session:
        rows = session.execute(
            select(BookingSeat.starts_at, BookingSeat.seat).order_by(
                BookingSeat.starts_at, BookingSeat.seat
            )
        ).all()
        return [(starts_at, seat) for starts_at, seat in rows]


def notices(factory: sessionmaker[Session]) -> dict[str, Message]:
    """Notice messages by dedupe key."""
    with factory() as session:
        rows = session.scalars(select(Message).where(Message.dedupe_key.is_not(None)))
        return {m.dedupe_key or "": m for m in rows}
