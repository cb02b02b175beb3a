"""Load, fresh from the database, everything the gate needs to decide about one message."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, null, select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus
from nurture.campaigns.spec import StepSpec
from nurture.config import Settings
from nurture.consent.ledger import consent_in_force, latest_action, normalise_address
from nurture.consent.models import Channel, Suppression
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


@dataclass(frozen=True, slots=True)
class LiveState:
    """Consent, suppression, booking and recent sends, read in one round trip."""

    consent: dict[Channel, bool]
    suppression: str | None
    booked: bool
    cap_release: datetime | None


def live_state(
    session: Session,
    policy: SendingPolicy,
    *,
    lead: Lead,
    message: Message,
    now: datetime,
    address: str | None = None,
) -> LiveState:
    """Everything about the lead that may have changed since the step was scheduled.

    One query with scalar subqueries: delivery reads this for every message at send
    time, so a STOP that landed a moment ago is seen, at the cost of one round trip.
    """
    channel = Channel(message.channel)
    address = address or _address(lead, channel)
    suppressed: Any = null()
    if address:
        suppressed = (
            select(Suppression.reason)
            .where(
                Suppression.channel == channel,
                Suppression.address == normalise_address(channel, address),
            )
            .limit(1)
            .scalar_subquery()
        )
    booked = exists().where(Booking.lead_id == lead.id, Booking.status != BookingStatus.CANCELLED)
    cap = policy.caps.get(channel)
    nth_recent: Any = null()
    if cap:
        # The cap-th most recent hand-off inside the period: the cap frees up when it ages out.
        nth_recent = (
            select(Message.handed_off_at)
            .where(
                Message.lead_id == lead.id,
                Message.channel == message.channel,
                Message.kind == message.kind,
                Message.id != message.id,
                Message.status.in_(HANDED_OFF),
                Message.handed_off_at > now - cap.period,
            )
            .order_by(Message.handed_off_at.desc())
            .offset(cap.count - 1)
            .limit(1)
            .scalar_subquery()
        )
    row = session.execute(
        select(
            latest_action(lead.id, Channel.EMAIL),
            latest_action(lead.id, Channel.SMS),
            suppressed,
            booked,
            nth_recent,
        )
    ).one()
    email, sms, reason, is_booked, nth = row
    if nth is not None and nth.tzinfo is None:
        nth = nth.replace(tzinfo=UTC)  # SQLite returns it naive from a subquery
    release = cap.release(nth) if cap else None
    return LiveState(
        consent=consent_in_force(email, sms),
        suppression=reason,
        booked=bool(is_booked),
        cap_release=release,
    )


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
    state = live_state(session, policy, lead=lead, message=message, now=now)
    channel = Channel(message.channel)
    return GateFacts(
        channel=channel,
        address=_address(lead, channel),
        consent=state.consent,
        suppression=state.suppression,
        booked=state.booked,
        enrollment_status=enrollment.status,
        enrollment_end_reason=enrollment.end_reason,
        condition=step.condition,
        windows=policy.windows(step, lead.phone),
        zone=lead_zone(lead.timezone, lead.phone, settings.clinic_zone),
        cap_release=state.cap_release,
    )


def notice_facts(
    session: Session,
    settings: Settings,
    policy: SendingPolicy,
    *,
    lead: Lead,
    message: Message,
    now: datetime,
) -> GateFacts:
    """The gate's view of a transactional notice (confirmation, reminder, reply)."""
    channel = Channel(message.channel)
    # A notice for the front desk names its own recipient; the gate checks that address.
    address = str((message.content or {}).get("to") or "") or _address(lead, channel)
    state = live_state(session, policy, lead=lead, message=message, now=now, address=address)
    quiet = policy.quiet_hours.get(channel)
    return GateFacts(
        channel=channel,
        address=address,
        consent=state.consent,
        suppression=state.suppression,
        booked=False,
        enrollment_status="",
        enrollment_end_reason=None,
        condition=None,
        windows=(quiet,) if quiet else (),
        zone=lead_zone(lead.timezone, lead.phone, settings.clinic_zone),
        transactional=True,
    )
