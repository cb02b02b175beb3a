"""One line per console section for the dashboard: what is waiting there right now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.booking.front_desk import day_bounds, screenings_between
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.config import Settings
from nurture.replies.inbox_view import open_count
from nurture.staff.sections import Section


def _plural(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def glance(
    session: Session, sections: list[Section], settings: Settings, now: datetime
) -> dict[str, str]:
    """A short status for each of `sections` that has one (only what the role may open)."""
    keys = {section.key for section in sections}
    lines: dict[str, str] = {}
    if "campaigns" in keys:
        active = session.scalar(
            select(func.count()).where(Campaign.status == CampaignStatus.ACTIVE)
        )
        lines["campaigns"] = _plural(active or 0, "active campaign", "active campaigns")
    if "inbox" in keys:
        lines["inbox"] = _plural(open_count(session), "reply waiting", "replies waiting")
    if "bookings" in keys:
        today = now.astimezone(settings.clinic_zone).date()
        start, end = day_bounds(today, 1, settings.clinic_zone)
        booked = screenings_between(session, start, end, include_cancelled=False)
        lines["bookings"] = _plural(len(booked), "screening today", "screenings today")
    return lines
