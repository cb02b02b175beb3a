"""The notices a booking sends: confirmation with a calendar file, reminder, move,
cancellation, and a note to the front desk.

They are queued as transactional outbox rows (nurture.messages.transactional), so
they go through the same gate: suppression, SMS consent and SMS sending hours apply.
Dedupe keys carry the booking's calendar version, so a move gets its own new
confirmation and reminder, and the old version's unsent ones can be skipped by key.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from nurture.booking.calendar import Method, calendar_attachment
from nurture.booking.display import when
from nurture.booking.models import Booking
from nurture.booking.wording import render_notice_email, render_notice_sms
from nurture.channel import Channel
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.links import booking_url
from nurture.messages.compose import display_phone
from nurture.messages.render import Clinic
from nurture.messages.transactional import EmailContent, Notice, cancel_pending, queue_notice

CONFIRMATION = "booking-confirmation"
RESCHEDULED = "booking-rescheduled"
CANCELLATION = "booking-cancellation"
REMINDER = "booking-reminder"
FRONT_DESK = "booking-front-desk"
REMINDER_BEFORE = timedelta(hours=24)
# The template under templates/booking/ for each notice kind.
TEMPLATE = {
    CONFIRMATION: "confirmation",
    RESCHEDULED: "rescheduled",
    CANCELLATION: "cancelled",
    REMINDER: "reminder",
    FRONT_DESK: "front_desk",
}
FrontDeskEvent = Literal["booked", "moved", "cancelled", "requested"]


@dataclass(frozen=True, slots=True)
class AddressedEmailContent(EmailContent):
    """A notice for someone other than the lead (the front desk), naming its recipient.

    It stays on the prospect's lead row, so the notice is listed with the booking it is
    about; `compose_notice` sends it to `to` instead of the lead's address.
    """

    to: str = ""

    def to_json(self) -> dict[str, Any]:
        return {**EmailContent.to_json(self), "to": self.to}


def notice_key(booking: Booking, notice: str, channel: str | None = None) -> str:
    """The dedupe key of one notice for this version of the booking."""
    stamp = f"{booking.starts_at:%Y%m%dT%H%M}" if booking.starts_at else "unscheduled"
    suffix = f":{channel}" if channel else ""
    return f"booking:{booking.id}:{notice}:{stamp}:v{booking.calendar_sequence}{suffix}"


def lead_links(settings: Settings, lead: Lead) -> dict[str, str]:
    """The signed links a lead uses to see, cancel, move or save the booking."""
    page = booking_url(settings, lead.public_id)
    return {
        "manage_url": page,
        "cancel_url": f"{page}/cancel",
        "reschedule_url": f"{page}/reschedule",
        "calendar_url": f"{page}/calendar.ics",
    }


def _clinic(settings: Settings) -> Clinic:
    return Clinic(
        settings.clinic_name, display_phone(settings.clinic_phone), settings.clinic_address
    )


def _lead_variables(
    settings: Settings, booking: Booking, lead: Lead, moved_from: datetime | None
) -> dict[str, Any]:
    zone = lead_zone(lead.timezone, lead.phone, settings.clinic_zone)
    starts, ends = booking.starts_at, booking.ends_at
    return {
        "first_name": lead.first_name,
        "clinic": _clinic(settings),
        "when": when(starts, zone, lead.language) if starts else None,
        "old_when": when(moved_from, zone, lead.language) if moved_from else None,
        "minutes": int((ends - starts).total_seconds() // 60) if starts and ends else None,
        **lead_links(settings, lead),
    }


def _sms_allowed(session: Session, lead: Lead) -> bool:
    return bool(lead.phone) and current_consent(session, lead.id)[Channel.SMS]


@dataclass(frozen=True, slots=True)
class _LeadNotices:
    """The notices about one booking that go to its lead, rendered from one set of values."""

    session: Session
    settings: Settings
    booking: Booking
    lead: Lead
    variables: dict[str, Any]
    now: datetime

    def email(self, notice: str, due_at: datetime, calendar: Method | None = None) -> None:
        settings, booking, lead = self.settings, self.booking, self.lead
        rendered = render_notice_email(
            settings.templates_dir, TEMPLATE[notice], self.variables, language=lead.language
        )
        attachments = (
            (calendar_attachment(settings, booking, lead, method=calendar, stamp=self.now),)
            if calendar
            else ()
        )
        queue_notice(
            self.session,
            Notice(lead.id, notice, notice_key(booking, notice, Channel.EMAIL), due_at),
            EmailContent(rendered.subject, rendered.text, rendered.html, attachments),
            self.now,
        )

    def sms(self, notice: str, due_at: datetime) -> None:
        queue_notice(
            self.session,
            Notice(self.lead.id, notice, notice_key(self.booking, notice, Channel.SMS), due_at),
            render_notice_sms(
                self.settings.templates_dir, TEMPLATE[notice], self.variables, self.lead.language
            ),
            self.now,
        )


def queue_booked(
    session: Session,
    settings: Settings,
    booking: Booking,
    now: datetime,
    *,
    moved_from: datetime | None,
) -> None:
    """Confirm a new or moved booking: email with .ics, SMS if consented, reminder, front desk."""
    if booking.starts_at is None:
        raise ValueError("only a booking with a time can be confirmed")
    lead = session.get_one(Lead, booking.lead_id)
    notice = RESCHEDULED if moved_from else CONFIRMATION
    variables = _lead_variables(settings, booking, lead, moved_from)
    notices = _LeadNotices(session, settings, booking, lead, variables, now)
    sms = _sms_allowed(session, lead)
    notices.email(notice, now, calendar="REQUEST")
    if sms:
        notices.sms(notice, now)
    # Booked within a day of the screening: the confirmation that just went is the reminder.
    reminder_at = booking.starts_at - REMINDER_BEFORE
    if reminder_at > now:
        (notices.sms if sms else notices.email)(REMINDER, reminder_at)
    queue_front_desk(
        session, settings, booking, "moved" if moved_from else "booked", now, moved_from=moved_from
    )


def queue_cancelled(session: Session, settings: Settings, booking: Booking, now: datetime) -> None:
    """Tell the lead (email with a calendar CANCEL, SMS if consented) and the front desk."""
    lead = session.get_one(Lead, booking.lead_id)
    if booking.starts_at is not None:
        variables = _lead_variables(settings, booking, lead, None)
        notices = _LeadNotices(session, settings, booking, lead, variables, now)
        notices.email(CANCELLATION, now, calendar="CANCEL")
        if _sms_allowed(session, lead):
            notices.sms(CANCELLATION, now)
    queue_front_desk(session, settings, booking, "cancelled", now)


def cancel_pending_for(session: Session, booking: Booking, reason: str, now: datetime) -> int:
    """Skip this version's lead notices not yet sent (its reminder, a held confirmation)."""
    keys = [
        notice_key(booking, notice, channel)
        for notice in (CONFIRMATION, RESCHEDULED, REMINDER)
        for channel in Channel
    ]
    return cancel_pending(session, keys, reason, now)


def queue_front_desk(
    session: Session,
    settings: Settings,
    booking: Booking,
    event: FrontDeskEvent,
    now: datetime,
    *,
    moved_from: datetime | None = None,
) -> None:
    """Email the front desk about a booking event; nothing when FRONT_DESK_EMAIL is unset."""
    if not settings.front_desk_email:
        return
    lead = session.get_one(Lead, booking.lead_id)
    zone = settings.clinic_zone
    variables = {
        "event": event,
        "booking_id": booking.id,
        "source": booking.cancel_source if event == "cancelled" else booking.source,
        "clinic": _clinic(settings),
        "lead": {
            "first_name": lead.first_name,
            "email": lead.email,
            "phone": display_phone(lead.phone) if lead.phone else None,
        },
        "when": when(booking.starts_at, zone) if booking.starts_at else None,
        "old_when": when(moved_from, zone) if moved_from else None,
    }
    rendered = render_notice_email(settings.templates_dir, TEMPLATE[FRONT_DESK], variables)
    queue_notice(
        session,
        Notice(lead.id, FRONT_DESK, notice_key(booking, f"front-desk-{event}"), now),
        AddressedEmailContent(
            rendered.subject, rendered.text, rendered.html, to=settings.front_desk_email
        ),
        now,
    )
