"""Load, fresh from the database, everything the gate needs to decide about messages:
one at a time (`campaign_facts`, `notice_facts`), or a whole delivery batch in a few
set-based queries (`BatchState`), both feeding the same GateFacts."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, func, null, select
from sqlalchemy.orm import Session

from nurture.booking.models import Booking, BookingStatus
from nurture.campaigns.models import Campaign
from nurture.campaigns.spec import StepSpec
from nurture.config import Settings
from nurture.consent.ledger import consent_in_force, latest_action, normalise_address
from nurture.consent.models import Channel, ConsentEvent, Suppression
from nurture.consent.policy import SendingPolicy
from nurture.db import one_of
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
    return campaign_gate_facts(settings, policy, lead, enrollment, step, message, state)


def campaign_gate_facts(
    settings: Settings,
    policy: SendingPolicy,
    lead: Lead,
    enrollment: Enrollment,
    step: StepSpec,
    message: Message,
    state: LiveState,
) -> GateFacts:
    """GateFacts for a campaign step from the lead's live state."""
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
    address = notice_address(lead, message)
    state = live_state(session, policy, lead=lead, message=message, now=now, address=address)
    return notice_gate_facts(settings, policy, lead, message, state)


def notice_address(lead: Lead, message: Message) -> str | None:
    """Where a notice goes: the front desk's notices name their own recipient."""
    to = str((message.content or {}).get("to") or "")
    return to or _address(lead, Channel(message.channel))


def notice_gate_facts(
    settings: Settings, policy: SendingPolicy, lead: Lead, message: Message, state: LiveState
) -> GateFacts:
    """GateFacts for a transactional notice from the live state of its address."""
    channel = Channel(message.channel)
    address = notice_address(lead, message)
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


@dataclass(frozen=True, slots=True)
class Loaded:
    """A claimed message with what it is about."""

    message: Message
    lead: Lead
    enrollment: Enrollment | None
    campaign_status: str | None


def load_batch(session: Session, ids: list[int]) -> list[Loaded]:
    """The messages `ids` with their leads, enrollments and campaigns' status, in id order."""
    rows = session.execute(
        select(Message, Lead, Enrollment, Campaign.status)
        .join(Lead, Lead.id == Message.lead_id)
        .outerjoin(Enrollment, Enrollment.id == Message.enrollment_id)
        .outerjoin(Campaign, Campaign.id == Message.campaign_id)
        .where(one_of(session, Message.id, ids))
        .order_by(Message.id)
    ).all()
    return [Loaded(*row) for row in rows]


class BatchState:
    """Consent, suppressions, bookings and recent hand-offs of a batch's leads, read in
    four queries. As the batch is decided, each message let through counts towards the
    frequency cap of the ones after it (`handed_off`)."""

    def __init__(
        self,
        session: Session,
        policy: SendingPolicy,
        batch: list[Loaded],
        addresses: dict[int, str | None],
        now: datetime,
    ) -> None:
        self.policy, self.now = policy, now
        leads = sorted({item.lead.id for item in batch})
        latest = (
            select(func.max(ConsentEvent.id))
            .where(one_of(session, ConsentEvent.lead_id, leads))
            .group_by(ConsentEvent.lead_id, ConsentEvent.channel)
        )
        actions: dict[int, dict[str, str]] = {}
        for lead_id, channel, action in session.execute(
            select(ConsentEvent.lead_id, ConsentEvent.channel, ConsentEvent.action).where(
                ConsentEvent.id.in_(latest)
            )
        ):
            actions.setdefault(lead_id, {})[channel] = action
        self.consent = {
            lead_id: consent_in_force(found.get(Channel.EMAIL), found.get(Channel.SMS))
            for lead_id, found in actions.items()
        }
        wanted = {
            (Channel(item.message.channel), normalise_address(Channel(item.message.channel), a))
            for item in batch
            if (a := addresses[item.message.id])
        }
        self.suppressed: dict[tuple[str, str], str] = {}
        for channel in (Channel.EMAIL, Channel.SMS):
            found = [address for kind, address in wanted if kind is channel]
            if found:
                for address, reason in session.execute(
                    select(Suppression.address, Suppression.reason).where(
                        Suppression.channel == channel, one_of(session, Suppression.address, found)
                    )
                ):
                    self.suppressed[(channel.value, address)] = reason
        self.booked = set(
            session.scalars(
                select(Booking.lead_id).where(
                    one_of(session, Booking.lead_id, leads),
                    Booking.status != BookingStatus.CANCELLED,
                )
            )
        )
        self.recent: dict[tuple[int, str, str], list[datetime]] = {}
        longest = max((cap.period for cap in policy.caps.values()), default=None)
        if longest is not None:
            batch_ids = [item.message.id for item in batch]
            for lead_id, channel, kind, at in session.execute(
                select(Message.lead_id, Message.channel, Message.kind, Message.handed_off_at).where(
                    one_of(session, Message.lead_id, leads),
                    Message.status.in_(HANDED_OFF),
                    Message.handed_off_at > now - longest,
                    ~one_of(session, Message.id, batch_ids),
                )
            ):
                if at is not None:
                    self.recent.setdefault((lead_id, channel, kind), []).append(at)

    def live(self, message: Message, address: str | None) -> LiveState:
        """The live state for one message of the batch."""
        channel = Channel(message.channel)
        reason = (
            self.suppressed.get((channel.value, normalise_address(channel, address)))
            if address
            else None
        )
        recent = self.recent.get((message.lead_id, message.channel, message.kind), [])
        return LiveState(
            consent=self.consent.get(message.lead_id, consent_in_force(None, None)),
            suppression=reason,
            booked=message.lead_id in self.booked,
            cap_release=self.policy.cap_release(channel, recent, self.now),
        )

    def handed_off(self, message: Message) -> None:
        """Count a message the gate let through against the cap of the rest of the batch."""
        key = (message.lead_id, message.channel, message.kind)
        self.recent.setdefault(key, []).append(self.now)
