"""The screening as an iCalendar file (RFC 5545/5546) for the lead's calendar app.

The UID is stable per booking and SEQUENCE grows with every move or cancellation,
so a calendar updates the one event in place instead of adding another.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from icalendar import Calendar, Event, vCalAddress

from nurture.booking.models import Booking
from nurture.config import Settings
from nurture.leads.models import Lead
from nurture.messages.channels.base import Attachment

# REQUEST: an invitation sent by email; CANCEL: withdraws it; PUBLISH: a download.
Method = Literal["REQUEST", "CANCEL", "PUBLISH"]


def event_uid(settings: Settings, booking_id: int) -> str:
    """The event's UID: the same for every version of one booking."""
    host = urlsplit(settings.public_base_url).hostname or "nurture.invalid"
    return f"screening-{booking_id}@{host}"


def screening_calendar(
    settings: Settings, booking: Booking, lead: Lead, *, method: Method, stamp: datetime
) -> bytes:
    """The .ics bytes for `booking` (which must have a time)."""
    if booking.starts_at is None or booking.ends_at is None:
        raise ValueError("a booking without a time has no calendar entry")
    calendar = Calendar()
    calendar.add("prodid", f"-//{settings.clinic_name}//Nurture screenings//EN")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", event_uid(settings, booking.id))
    event.add("dtstamp", stamp)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("sequence", booking.calendar_sequence)
    event.add("summary", f"Free screening at {settings.clinic_name}")
    event.add("location", settings.clinic_address)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    event.add("transp", "OPAQUE")
    organizer = vCalAddress(f"mailto:{settings.email_from}")
    organizer.params["cn"] = settings.clinic_name
    event.add("organizer", organizer)
    if method != "PUBLISH":
        # RFC 5546 wants the attendee in an invitation; already accepted, so the calendar
        # app does not ask the lead to RSVP to the clinic's mailbox.
        attendee = vCalAddress(f"mailto:{lead.email}")
        attendee.params["cn"] = lead.first_name
        attendee.params["role"] = "REQ-PARTICIPANT"
        attendee.params["partstat"] = "ACCEPTED"
        attendee.params["rsvp"] = "FALSE"
        event.add("attendee", attendee)
    calendar.add_component(event)
    return bytes(calendar.to_ical())


def calendar_attachment(
    settings: Settings, booking: Booking, lead: Lead, *, method: Method, stamp: datetime
) -> Attachment:
    """The .ics as an email attachment."""
    data = screening_calendar(settings, booking, lead, method=method, stamp=stamp)
    name = "screening-cancelled.ics" if method == "CANCEL" else "screening.ics"
    return Attachment(name, f"text/calendar; method={method}", data)
