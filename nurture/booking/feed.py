"""The front desk's calendar feed: a private, revocable link and the screenings it lists.

Calendar apps fetch a feed without cookies, so the link itself is the credential.
The database keeps a hash of the token (to find the feed) and a random nonce; the
token is an HMAC of the nonce under the server's secret, so the bookings page can
show the link again while a copy of the database alone cannot open it. Resetting
draws a new nonce, which kills the old link.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event
from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.booking.calendar import event_uid
from nurture.booking.front_desk import Screening, day_bounds, screenings_between
from nurture.booking.models import CalendarFeed
from nurture.config import Settings
from nurture.staff.models import StaffUser
from nurture.staff.sections import roles_for

# Far enough ahead for any bookable slot (the booking horizon is a few weeks).
FEED_DAYS = 120
DEFAULT_LENGTH = timedelta(minutes=30)


def _token(settings: Settings, nonce: str) -> str:
    digest = hmac.new(
        settings.secret_key.encode(), f"nurture.calendar-feed:{nonce}".encode(), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def staff_feed(session: Session, staff_user_id: int) -> CalendarFeed | None:
    """The member of staff's calendar feed, if they made one."""
    return session.scalar(select(CalendarFeed).where(CalendarFeed.staff_user_id == staff_user_id))


def reset_feed(
    session: Session, settings: Settings, staff_user_id: int, now: datetime
) -> tuple[CalendarFeed, bool]:
    """A new link for the member of staff (the old one stops working); and whether it is new."""
    feed = staff_feed(session, staff_user_id)
    first = feed is None
    if feed is None:
        feed = CalendarFeed(staff_user_id=staff_user_id)
        session.add(feed)
    feed.nonce = secrets.token_hex(32)
    feed.token_hash = _hash(_token(settings, feed.nonce))
    feed.created_at = now
    session.flush()
    return feed, first


def feed_url(settings: Settings, feed: CalendarFeed) -> str | None:
    """The feed's address, or None when the server secret changed since it was made."""
    token = _token(settings, feed.nonce)
    if not hmac.compare_digest(_hash(token), feed.token_hash):
        return None
    return f"{settings.public_base_url.rstrip('/')}/calendar/{token}.ics"


def staff_for_token(session: Session, token: str) -> StaffUser | None:
    """Whose feed `token` opens: an enabled account still allowed to see bookings, else None."""
    if not token or len(token) > 100:
        return None
    user = session.scalar(
        select(StaffUser)
        .join(CalendarFeed, CalendarFeed.staff_user_id == StaffUser.id)
        .where(CalendarFeed.token_hash == _hash(token))
    )
    if user is None or user.disabled or user.role not in roles_for("bookings"):
        return None
    return user


def _event(settings: Settings, screening: Screening, stamp: datetime) -> Event:
    event = Event()
    event.add("uid", event_uid(settings, screening.booking_id))
    event.add("dtstamp", stamp)
    event.add("dtstart", screening.starts_at)
    event.add("dtend", screening.ends_at or screening.starts_at + DEFAULT_LENGTH)
    event.add("sequence", screening.calendar_sequence)
    # Calendar providers keep what they fetch: the first name is all the desk needs.
    event.add("summary", f"Screening: {screening.first_name}")
    event.add("location", settings.clinic_address)
    event.add("status", "CONFIRMED")
    event.add(
        "url", f"{settings.public_base_url.rstrip('/')}/admin/leads/{screening.lead_public_id}"
    )
    return event


def screenings_feed(session: Session, settings: Settings, zone: ZoneInfo, now: datetime) -> bytes:
    """The .ics feed: every screening not cancelled from the start of today on."""
    start, end = day_bounds(now.astimezone(zone).date(), FEED_DAYS, zone)
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.clinic_name}//Nurture front desk//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"Screenings at {settings.clinic_name}")
    for screening in screenings_between(session, start, end, include_cancelled=False):
        calendar.add_component(_event(settings, screening, now))
    return bytes(calendar.to_ical())
