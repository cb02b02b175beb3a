"""Load, fresh from the database, everything the gate needs to decide about one message."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus
from nurture.campaigns.spec import StepSpec
from nurture.config import Settings
from nurture.consent.ledger import current_consent, suppression_reason
from nurture.consent.models import Channel
from nurture.consent.policy import SendingPolicy
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.messages.gate import GateFacts
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment

# What counts towards the frequency cap: everything a provider was (or may have been) given.
HANDED_OFF = (
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.UNKNOWN,
)


def _address(lead: Lead, channel: Channel) -> str | None:
    return lead.email if channel is Channel.EMAIL else lead.phone


def _recent_sends(
    session: Session, lead_id: int, message: Message, since: datetime
) -> list[datetime]:
    rows = session.scalars(
        select(Message.handed_off_at).where(
            Message.lead_id == lead_id,
            Message.channel == message.channel,
            Message.kind == message.kind,
            Message.id != message.id,
            Message.status.in_(HANDED_OFF),
            Message.handed_off_at > since,
        )
    ).all()
    return [t for t in rows if t is not None]


def campaign_facts(
    session: Session,
    settings: Settings,
    policy: SendingPolicy,
    *,
    lead: Lead,
    enrollment: Enrollment,
    step: StepSpec,
    message: Message,
    now: datetime,
) -> GateFacts:
    """The gate's view of a campaign step for this lead, right now."""
    channel = Channel(message.channel)
    address = _address(lead, channel)
    booked = session.scalar(
        select(
            exists().where(Booking.lead_id == lead.id, Booking.status != BookingStatus.CANCELLED)
        )
    )
    cap = policy.caps.get(channel)
    recent = _recent_sends(session, lead.id, message, now - cap.period) if cap else []
    return GateFacts(
        channel=channel,
        address=address,
        consent=current_consent(session, lead.id),
        suppression=suppression_reason(session, channel, address) if address else None,
        booked=bool(booked),
        enrollment_status=enrollment.status,
        enrollment_end_reason=enrollment.end_reason,
        condition=step.condition,
        windows=policy.windows(step, lead.phone),
        zone=lead_zone(lead.timezone, lead.phone, settings.clinic_zone),
        cap_release=policy.cap_release(channel, recent, now),
    )


def notice_facts(
    session: Session, settings: Settings, policy: SendingPolicy, *, lead: Lead, message: Message
) -> GateFacts:
    """The gate's view of a transactional notice (confirmation, reminder, reply)."""
    channel = Channel(message.channel)
    address = _address(lead, channel)
    quiet = policy.quiet_hours.get(channel)
    return GateFacts(
        channel=channel,
        address=address,
        consent=current_consent(session, lead.id),
        suppression=suppression_reason(session, channel, address) if address else None,
        booked=False,
        enrollment_status="",
        enrollment_end_reason=None,
        condition=None,
        windows=(quiet,) if quiet else (),
        zone=lead_zone(lead.timezone, lead.phone, settings.clinic_zone),
        transactional=True,
    )
