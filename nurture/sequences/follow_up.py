"""Follow-up campaigns: an event in a lead's story enrols them in each active campaign
that starts on it (`starts_on` in campaign.yaml), once per lead and campaign.

The follow-up's sequence is counted from the event plus the trigger's delay: that moment
is the enrollment's `enrolled_at`, so its steps, the lead's timeline and step-edit
migration all time it as they time any sequence. Each event has one home that calls
`start_follow_ups`: a sequence completing in the dispatcher, a booking cancelled in
nurture.booking.service, a no-show where the front desk records it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nurture.booking.models import EXIT_GOAL_BOOKING, Booking
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignStatus, CampaignVersion
from nurture.campaigns.spec import ENDED_WITHOUT_BOOKING, TriggerEvent, TriggerSpec
from nurture.config import Settings
from nurture.consent.ledger import current_consent
from nurture.consent.policy import SendingPolicy
from nurture.db import one_of
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.locations.directory import Locations
from nurture.sequences.enroll import enroll

# Definitions by checksum: a checksum names one content, so a cached one is never stale.
_DEFINITIONS: dict[str, CampaignDefinition] = {}
_CACHE_LIMIT = 64


@dataclass(frozen=True, slots=True)
class FollowUpEvent:
    """Something that happened to a lead; `after_campaign` is the campaign whose sequence
    ended, for sequence_ended_without_booking."""

    lead_id: int
    event: TriggerEvent
    after_campaign: int | None = None


@dataclass(frozen=True, slots=True)
class _Listener:
    campaign_id: int
    version_id: int
    definition: CampaignDefinition


def _definition(session: Session, checksum: str, version_id: int) -> CampaignDefinition:
    if checksum not in _DEFINITIONS:
        if len(_DEFINITIONS) >= _CACHE_LIMIT:
            _DEFINITIONS.clear()
        version = session.get(CampaignVersion, version_id)
        assert version is not None  # the campaign row points at it
        _DEFINITIONS[checksum] = CampaignDefinition.from_json(version.definition)
    return _DEFINITIONS[checksum]


def _listeners(session: Session) -> list[_Listener]:
    """The active campaigns that start on some event, at their current version."""
    rows = session.execute(
        select(Campaign.id, CampaignVersion.id, CampaignVersion.checksum)
        .join(CampaignVersion, CampaignVersion.id == Campaign.current_version_id)
        .where(Campaign.status == CampaignStatus.ACTIVE)
        .order_by(Campaign.id)
    )
    listeners = [
        _Listener(campaign_id, version_id, _definition(session, checksum, version_id))
        for campaign_id, version_id, checksum in rows
    ]
    return [listener for listener in listeners if listener.definition.spec.starts_on]


def _trigger(
    listener: _Listener, event: FollowUpEvent, slugs: dict[int, str]
) -> TriggerSpec | None:
    """The listener's trigger for this event, if it has one."""
    ended = slugs.get(event.after_campaign or 0)
    return next(
        (
            trigger
            for trigger in listener.definition.spec.starts_on
            if trigger.event == event.event
            and (trigger.campaign is None or trigger.campaign == ended)
        ),
        None,
    )


def start_follow_ups(
    session: Session,
    events: Sequence[FollowUpEvent],
    now: datetime,
    *,
    policy: SendingPolicy,
    clinic_zone: ZoneInfo,
) -> list[int]:
    """Enrol each event's lead in every active campaign that starts on it and whose
    audience they are in; the ids of the enrollments made now.

    A lead already in that campaign (even long finished) is not enrolled again, and a
    sequence that ended while the lead holds a booking did not end "without booking".
    """
    if not events:
        return []
    listeners = _listeners(session)
    if not listeners:
        return []
    lead_ids = {e.lead_id for e in events}
    booked = set(
        session.scalars(
            select(Booking.lead_id).where(
                one_of(session, Booking.lead_id, lead_ids), EXIT_GOAL_BOOKING
            )
        )
    )
    slugs: dict[int, str] = {
        campaign_id: slug
        for campaign_id, slug in session.execute(
            select(Campaign.id, Campaign.slug).where(
                Campaign.id.in_({e.after_campaign for e in events if e.after_campaign})
            )
        )
    }
    leads = {
        lead.id: lead
        for lead in session.scalars(select(Lead).where(one_of(session, Lead.id, lead_ids)))
    }
    places = Locations.load(session)
    started: list[int] = []
    for event in events:
        lead = leads.get(event.lead_id)
        if lead is None or (event.event == ENDED_WITHOUT_BOOKING and lead.id in booked):
            continue
        for listener in listeners:
            trigger = _trigger(listener, event, slugs)
            if trigger is None or not _in_audience(session, listener, lead):
                continue
            home = places.get(lead.location_id).timezone
            zone = lead_zone(lead.timezone, lead.phone, ZoneInfo(home) if home else clinic_zone)
            enrollment_id = _enrol(session, listener, lead, now + trigger.wait, zone, policy)
            if enrollment_id is not None:
                started.append(enrollment_id)
    return started


def lead_event(
    session: Session, settings: Settings, lead_id: int, event: TriggerEvent, now: datetime
) -> list[int]:
    """`start_follow_ups` for one event of one lead, timed by the clinic's settings."""
    return start_follow_ups(
        session,
        [FollowUpEvent(lead_id, event)],
        now,
        policy=SendingPolicy.from_settings(settings),
        clinic_zone=settings.clinic_zone,
    )


def _in_audience(session: Session, listener: _Listener, lead: Lead) -> bool:
    audience = listener.definition.spec.audience
    if audience is None:
        return True
    return audience.matches(lead.language, current_consent(session, lead.id))


def _enrol(
    session: Session,
    listener: _Listener,
    lead: Lead,
    starts_at: datetime,
    zone: ZoneInfo,
    policy: SendingPolicy,
) -> int | None:
    """The new enrollment's id; None when the lead is (or was) in the campaign already."""
    try:
        # A savepoint: two events for one lead at once lose only the second enrolment,
        # never the transaction (a dispatcher pass, a cancellation) that raised them.
        with session.begin_nested():
            enrollment, created = enroll(
                session,
                lead_id=lead.id,
                campaign_id=listener.campaign_id,
                version_id=listener.version_id,
                definition=listener.definition,
                zone=zone,
                now=starts_at,
                policy=policy,
                phone=lead.phone,
            )
    except IntegrityError:
        return None
    return enrollment.id if created else None
