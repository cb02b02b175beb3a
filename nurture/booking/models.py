"""Free-screening bookings (the campaigns' exit goal), the seats they hold, and clinic settings."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, and_, text
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base, EnumText
from nurture.locations.models import DEFAULT_LOCATION_ID


class BookingStatus(StrEnum):
    REQUESTED = "requested"  # asked for a screening without a time: the front desk calls
    CONFIRMED = "confirmed"  # holds a seat in a slot
    CANCELLED = "cancelled"


class DeskStatus(StrEnum):
    """Where the front desk is with a booked screening (nurture.booking.front_desk moves it)."""

    BOOKED = "booked"  # on the calendar; nobody has checked with the patient yet
    CONFIRMED = "confirmed"  # the front desk confirmed it with the patient
    ATTENDED = "attended"
    NO_SHOW = "no_show"


OPEN_BOOKING = text("status != 'cancelled'")


class BookingSeat(Base):
    """One place in a screening slot.

    A slot with capacity N has seats 1..N; the unique pair is what makes a double
    booking impossible, whatever the application code does concurrently.
    """

    __tablename__ = "booking_seats"
    __table_args__ = (UniqueConstraint("location_id", "starts_at", "seat"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id"), default=DEFAULT_LOCATION_ID, server_default="1"
    )
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
    location_id: Mapped[int] = mapped_column(
        ForeignKey("locations.id"), index=True, default=DEFAULT_LOCATION_ID, server_default="1"
    )
    status: Mapped[BookingStatus] = mapped_column(
        EnumText(BookingStatus, 12), default=BookingStatus.REQUESTED
    )
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
    # The front desk's view, apart from `status` (which says whether a seat is held).
    desk_status: Mapped[DeskStatus] = mapped_column(
        EnumText(DeskStatus, 12), default=DeskStatus.BOOKED, server_default=DeskStatus.BOOKED.value
    )
    desk_status_at: Mapped[datetime | None]


# The exit goal: a booking neither cancelled nor missed. A no-show is a lead to win back
# (a recovery campaign may follow it), not a goal reached.
EXIT_GOAL_BOOKING = and_(
    Booking.status != BookingStatus.CANCELLED, Booking.desk_status != DeskStatus.NO_SHOW
)


class CalendarFeed(Base):
    """A member of staff's private calendar link; only a hash of its token is kept."""

    __tablename__ = "calendar_feeds"

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(
        ForeignKey("staff_users.id", ondelete="CASCADE"), unique=True
    )
    # The token is derived from this nonce and the server's secret, so the page can show
    # the link again without the database ever holding it (nurture.booking.feed).
    nonce: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class ClinicSetting(Base):
    """A clinic-wide setting staff change at run time (screening availability, …), as JSON."""

    __tablename__ = "clinic_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime]
