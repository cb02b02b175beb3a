"""Free-screening bookings (the campaigns' exit goal), the seats they hold, and clinic settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base


class BookingStatus(StrEnum):
    REQUESTED = "requested"  # asked for a screening without a time: the front desk calls
    CONFIRMED = "confirmed"  # holds a seat in a slot
    CANCELLED = "cancelled"


OPEN_BOOKING = text("status != 'cancelled'")


class BookingSeat(Base):
    """One place in a screening slot.

    A slot with capacity N has seats 1..N; the unique pair is what makes a double
    booking impossible, whatever the application code does concurrently.
    """

    __tablename__ = "booking_seats"
    __table_args__ = (UniqueConstraint("starts_at", "seat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    starts_at: Mapped[datetime]
    seat: Mapped[int]
    taken_at: Mapped[datetime]


class Booking(Base):
    __tablename__ = "bookings"
    __table_args__ = (
        # One open booking per lead: a second click or a second channel reschedules it.
        Index(
            "uq_bookings_open_lead_id",
            "lead_id",
            unique=True,
            postgresql_where=OPEN_BOOKING,
            sqlite_where=OPEN_BOOKING,
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lead_id: Mapped[int] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(12), default=BookingStatus.REQUESTED)
    source: Mapped[str] = mapped_column(String(40))
    starts_at: Mapped[datetime | None]
    ends_at: Mapped[datetime | None]
    # Freed (NULL) when the booking is cancelled or moved to another slot.
    seat_id: Mapped[int | None] = mapped_column(
        ForeignKey("booking_seats.id", ondelete="SET NULL"), unique=True
    )
    # The iCalendar SEQUENCE: calendars replace an event only when it grows.
    calendar_sequence: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    cancelled_at: Mapped[datetime | None]
    cancel_source: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]


class ClinicSetting(Base):
    """A clinic-wide setting staff change at run time (screening availability, …), as JSON."""

    __tablename__ = "clinic_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
