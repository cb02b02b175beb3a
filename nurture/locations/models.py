"""A location: one clinic of the group, and what it changes about the clinic's settings.

Every field but `slug` may be left empty, and then follows the clinic's own settings
(nurture.clinic.profile). A single clinic therefore needs no location configured at all:
the migration creates the default location, `main`, with every field empty.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, String
from sqlalchemy.orm import Mapped, mapped_column

from nurture.db import Base

DEFAULT_LOCATION_ID = 1  # created by the migration; leads, seats and bookings default to it


class Location(Base):
    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)  # in links: ?location=
    name: Mapped[str | None] = mapped_column(String(120))
    address: Mapped[str | None] = mapped_column(String(300))
    phone: Mapped[str | None] = mapped_column(String(20))
    timezone: Mapped[str | None] = mapped_column(String(64))
    # A Twilio number (E.164) or Messaging Service SID (MG...) the location's texts go from.
    sms_sender: Mapped[str | None] = mapped_column(String(64))
    sms_rate: Mapped[float | None] = mapped_column(Float)  # segments a second its sender sends
    email_from: Mapped[str | None] = mapped_column(String(320))
    front_desk_email: Mapped[str | None] = mapped_column(String(320))  # booking notices
    # Screening hours, capacity and closed dates (nurture.booking.availability format).
    availability: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # How a lead is matched to the nearest location when the form does not say.
    area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    zip_prefixes: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
