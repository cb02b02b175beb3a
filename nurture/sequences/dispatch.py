"""The dispatcher: turn due enrollments into outbox rows, then hand their ids on.

One pass claims a batch of due enrollments, writes one message row per
(enrollment, step) — the unique constraint makes a second write a no-op — moves each
enrollment to its next step, commits, and only then calls `enqueue`, so a rolled-back
row never has a delivery task.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import Table, and_, bindparam, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignStatus, StepPromotion
from nurture.campaigns.spec import ENDED_WITHOUT_BOOKING
from nurture.campaigns.sync import load_version
from nurture.campaigns.variants import variant_for
from nurture.channel import Channel
from nurture.consent.policy import SendingPolicy
from nurture.db import one_of, upsert_insert
from nurture.leads.models import Lead, new_public_id
from nurture.leads.zone import lead_zone
from nurture.locations.directory import Locations
from nurture.messages import outbox
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.sequences.follow_up import FollowUpEvent, start_follow_ups
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.timing import step_due

Enqueue = Callable[[Sequence[int]], None]


@dataclass(frozen=True, slots=True)
class DispatchReport:
    claimed: int
    written: int
    released: int  # held messages whose time has come


class Due(Protocol):
    """What the dispatcher reads of a due enrollment (a row of DUE_COLUMNS)."""

    id: int
    lead_id: int
    campaign_id: int
    campaign_version_id: int
    next_step_key: str | None
    next_due_at: datetime | None
    enrolled_at: datetime


DUE_COLUMNS = (
    Enrollment.id,
    Enrollment.lead_id,
    Enrollment.campaign_id,
    Enrollment.campaign_version_id,
    Enrollment.next_step_key,
    Enrollment.next_due_at,
    Enrollment.enrolled_at,
)
ENROLLMENTS: Table = Enrollment.__table__  # type: ignore[assignment]  # a mapped class's Table
MESSAGES: Table = Message.__table__  # type: ignore[assignment]


def claim_due_enrollments(session: Session, now: datetime, limit: int) -> Sequence[Due]:
    """Lock up to `limit` due enrollments; other dispatchers skip the locked rows.

    Enrollments of a campaign that is not active (paused) are left due, untouched:
    they are claimed as usual once the campaign is active again.
    """
    active_campaigns = select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE)
    query = (
        select(*DUE_COLUMNS)
        .where(
            Enrollment.status == EnrollmentStatus.ACTIVE,
            Enrollment.next_due_at <= now,
            Enrollment.campaign_id.in_(active_campaigns),
        )
        .order_by(Enrollment.next_due_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.execute(query).all()


def _advance(
    enrollment: Due,
    definition: CampaignDefinition,
    lead: LeadPlace,
    zone: ZoneInfo,
    policy: SendingPolicy,
) -> tuple[str, datetime] | None:
    """The enrollment's next step and when it falls due; None when none is left."""
    key = enrollment.next_step_key
    following = definition.spec.step_after(key) if key else None
    if following is None:
        return None
    return following.key, step_due(enrollment.enrolled_at, following, zone, policy, lead.phone)


class LeadPlace(Protocol):
    """What scheduling needs of a lead: where they are (and who, for an A/B test)."""

    public_id: str
    timezone: str | None
    phone: str | None
    location_id: int


def _home_zones(session: Session) -> dict[int, ZoneInfo]:
    """The zone of each location that has one of its own (the others are the clinic's)."""
    return {
        place.id: ZoneInfo(place.timezone) for place in Locations.load(session) if place.timezone
    }


def dispatch_due(
    factory: sessionmaker[Session],
    now: datetime,
    enqueue: Enqueue,
    *,
    batch_size: int,
    clinic_zone: ZoneInfo,
    policy: SendingPolicy,
) -> DispatchReport:
    """One dispatcher pass; returns what it did.

    Set-based: one query claims the batch, one reads its leads, one statement writes
    its messages and two move its enrollments on, whatever the batch's size.
    """
    definitions: dict[int, CampaignDefinition] = {}
    with factory.begin() as session:
        enrollments = claim_due_enrollments(session, now, batch_size)
        leads: dict[int, LeadPlace] = {
            row.id: row
            for row in session.execute(
                select(Lead.id, Lead.public_id, Lead.timezone, Lead.phone, Lead.location_id).where(
                    one_of(session, Lead.id, {e.lead_id for e in enrollments})
                )
            )
        }
        rows: list[dict[str, object]] = []
        moved: list[dict[str, object]] = []
        completed: list[int] = []
        ended: list[FollowUpEvent] = []
        winners = promoted_winners(session, {e.campaign_id for e in enrollments})
        # A lead whose own zone is unknown lives where their clinic is.
        local_zones = _home_zones(session) if enrollments else {}
        for enrollment in enrollments:
            version = enrollment.campaign_version_id
            if version not in definitions:
                definitions[version] = load_version(session, version)
            definition = definitions[version]
            lead = leads[enrollment.lead_id]
            key = enrollment.next_step_key
            if key is not None:
                step = definition.spec.step(key)
                winner = winners.get((enrollment.campaign_id, key))
                variant = variant_for(step, lead.public_id, definition.spec.slug, winner)
                kind = MessageKind.TASK if step.task else MessageKind.CAMPAIGN
                rows.append(_message_row(enrollment, step.channel, kind, variant, now))
            home = local_zones.get(lead.location_id, clinic_zone)
            zone = lead_zone(lead.timezone, lead.phone, home)
            following = _advance(enrollment, definition, lead, zone, policy)
            if following is None:
                completed.append(enrollment.id)
                ended.append(
                    FollowUpEvent(enrollment.lead_id, ENDED_WITHOUT_BOOKING, enrollment.campaign_id)
                )
            else:
                moved.append({"e_id": enrollment.id, "e_key": following[0], "e_due": following[1]})
        written = _write_messages(session, rows)
        _move_enrollments(session, moved, completed, now)
        # A sequence that ran to its end without a booking may start a follow-up campaign.
        start_follow_ups(session, ended, now, policy=policy, clinic_zone=clinic_zone)
        released = release_held(session, now, batch_size)
    ids = written + released
    if ids:
        enqueue(ids)
    return DispatchReport(len(enrollments), len(written), len(released))


def promoted_winners(session: Session, campaign_ids: set[int]) -> dict[tuple[int, str], str]:
    """The promoted variant of each decided A/B test, by (campaign id, step key)."""
    if not campaign_ids:
        return {}
    rows = session.execute(
        select(StepPromotion.campaign_id, StepPromotion.step_key, StepPromotion.variant).where(
            one_of(session, StepPromotion.campaign_id, campaign_ids)
        )
    )
    return {(campaign_id, key): variant for campaign_id, key, variant in rows}


def _message_row(
    enrollment: Due, channel: Channel, kind: MessageKind, variant: str | None, now: datetime
) -> dict[str, object]:
    # The variant is chosen here, once, and recorded: delivery renders what was recorded.
    return {
        "ref": new_public_id(),
        "kind": kind.value,
        "enrollment_id": enrollment.id,
        "lead_id": enrollment.lead_id,
        "campaign_id": enrollment.campaign_id,
        "step_key": enrollment.next_step_key,
        "channel": channel.value,
        "variant": variant,
        "status": MessageStatus.QUEUED.value,
        "due_at": enrollment.next_due_at,
        "enqueued_at": now,
        "attempts": 0,
        "opens": 0,
        "clicks": 0,
        "deferrals": 0,
        "created_at": now,
        "updated_at": now,
    }


def _write_messages(session: Session, rows: list[dict[str, object]]) -> list[int]:
    """Insert the batch's messages; the ids of those written now, in id order.

    A row whose (enrollment, step) exists already is left alone: its delivery is the
    sweeper's business. Asking by the fresh refs afterwards, rather than RETURNING from
    a many-row VALUES, keeps the INSERT one short statement the driver pipelines.
    """
    if not rows:
        return []
    insert = upsert_insert(session)(MESSAGES).on_conflict_do_nothing(
        index_elements=["enrollment_id", "step_key"]
    )
    session.execute(insert, rows)
    refs = [row["ref"] for row in rows]
    return sorted(
        session.scalars(select(MESSAGES.c.id).where(one_of(session, MESSAGES.c.ref, refs)))
    )


def _move_enrollments(
    session: Session, moved: list[dict[str, object]], completed: list[int], now: datetime
) -> None:
    """Each enrollment to its next step, or completed: two statements for the batch."""
    if moved:
        session.execute(
            update(ENROLLMENTS)
            .where(ENROLLMENTS.c.id == bindparam("e_id"))
            .values(next_step_key=bindparam("e_key"), next_due_at=bindparam("e_due")),
            moved,
        )
    if completed:
        session.execute(
            update(ENROLLMENTS)
            .where(one_of(session, ENROLLMENTS.c.id, completed))
            .values(
                status=EnrollmentStatus.COMPLETED,
                next_step_key=None,
                next_due_at=None,
                ended_at=now,
                end_reason="all steps due",
            )
        )


def release_held(session: Session, now: datetime, limit: int) -> list[int]:
    """Move held messages whose time has come back to the queue.

    A paused campaign's messages stay held (delivery put them there) until it resumes;
    notices carry no campaign, so a pause never holds them.
    """
    campaign_paused = exists().where(
        Campaign.id == Message.campaign_id, Campaign.status == CampaignStatus.PAUSED
    )
    due = (
        select(Message.id)
        .where(Message.status == MessageStatus.HELD, Message.due_at <= now, ~campaign_paused)
        .limit(limit)
    )
    return outbox.move_matching(
        session,
        [Message.id.in_(due.scalar_subquery())],
        [MessageStatus.HELD],
        MessageStatus.QUEUED,
        now,
        enqueued_at=now,
    )


def requeue_lost(factory: sessionmaker[Session], now: datetime, older_than: timedelta) -> list[int]:
    """Queued messages whose delivery task never ran (lost with a broker or worker)."""
    with factory.begin() as session:
        stale = and_(
            Message.status == MessageStatus.QUEUED, Message.enqueued_at <= now - older_than
        )
        return list(
            session.scalars(
                update(Message)
                .where(stale)
                .values(enqueued_at=now, updated_at=now)
                .returning(Message.id)
            )
        )
