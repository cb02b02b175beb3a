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
from zoneinfo import ZoneInfo

from sqlalchemy import and_, exists, select, update
from sqlalchemy.orm import Session, sessionmaker

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.campaigns.sync import load_version
from nurture.consent.policy import SendingPolicy
from nurture.db import upsert_insert
from nurture.leads.models import Lead, new_public_id
from nurture.leads.zone import lead_zone
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.enroll import due_at
from nurture.sequences.models import Enrollment, EnrollmentStatus

Enqueue = Callable[[Sequence[int]], None]


@dataclass(frozen=True, slots=True)
class DispatchReport:
    claimed: int
    written: int
    released: int  # held messages whose time has come


def claim_due_enrollments(session: Session, now: datetime, limit: int) -> list[Enrollment]:
    """Lock up to `limit` due enrollments; other dispatchers skip the locked rows.

    Enrollments of a campaign that is not active (paused) are left due, untouched:
    they are claimed as usual once the campaign is active again.
    """
    active_campaigns = select(Campaign.id).where(Campaign.status == CampaignStatus.ACTIVE)
    query = (
        select(Enrollment)
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
    return list(session.scalars(query))


def _advance(
    enrollment: Enrollment,
    definition: CampaignDefinition,
    lead: Lead,
    zone: ZoneInfo,
    policy: SendingPolicy,
    now: datetime,
) -> dict[str, object]:
    key = enrollment.next_step_key
    following = definition.spec.step_after(key) if key else None
    if following is None:
        return {
            "status": EnrollmentStatus.COMPLETED,
            "next_step_key": None,
            "next_due_at": None,
            "ended_at": now,
            "end_reason": "all steps due",
        }
    return {
        "next_step_key": following.key,
        "next_due_at": due_at(
            enrollment.enrolled_at, following, zone, policy.windows(following, lead.phone)
        ),
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
    """One dispatcher pass; returns what it did."""
    definitions: dict[int, CampaignDefinition] = {}
    with factory.begin() as session:
        enrollments = claim_due_enrollments(session, now, batch_size)
        leads = {
            lead.id: lead
            for lead in session.scalars(
                select(Lead).where(Lead.id.in_({e.lead_id for e in enrollments}))
            )
        }
        rows, moves = [], []
        for enrollment in enrollments:
            version = enrollment.campaign_version_id
            if version not in definitions:
                definitions[version] = load_version(session, version)
            definition = definitions[version]
            lead = leads[enrollment.lead_id]
            key = enrollment.next_step_key
            if key is not None:
                step = definition.spec.step(key)
                rows.append(
                    {
                        "enrollment_id": enrollment.id,
                        "lead_id": enrollment.lead_id,
                        "campaign_id": enrollment.campaign_id,
                        "step_key": key,
                        "channel": step.channel.value,
                        "status": MessageStatus.QUEUED.value,
                        "due_at": enrollment.next_due_at,
                        "enqueued_at": now,
                        "created_at": now,
                        "updated_at": now,
                    }
                )
            zone = lead_zone(lead.timezone, lead.phone, clinic_zone)
            moves.append((enrollment, _advance(enrollment, definition, lead, zone, policy, now)))
        written: list[int] = []
        if rows:
            statement = (
                upsert_insert(session)(Message)
                .on_conflict_do_nothing(index_elements=["enrollment_id", "step_key"])
                .returning(Message.id)
            )
            # Column defaults written in Python do not apply to a core multi-row insert.
            written = list(
                session.scalars(statement, [{**row, "ref": new_public_id()} for row in rows])
            )
        for enrollment, values in moves:
            for name, value in values.items():
                setattr(enrollment, name, value)
        released = release_held(session, now, batch_size)
    ids = written + released
    if ids:
        enqueue(ids)
    return DispatchReport(len(enrollments), len(written), len(released))


def release_held(session: Session, now: datetime, limit: int) -> list[int]:
    """Move held messages whose time has come back to the queue.

    A paused campaign's messages stay held (delivery put them there) until it resumes;
    notices carry no campaign, so a pause never holds them.
    """
    campaign_paused = exists().where(
        Campaign.id == Message.campaign_id, Campaign.status == CampaignStatus.PAUSED
    )
    return list(
        session.scalars(
            update(Message)
            .where(
                Message.status == MessageStatus.HELD,
                Message.id.in_(
                    select(Message.id)
                    .where(
                        Message.status == MessageStatus.HELD,
                        Message.due_at <= now,
                        ~campaign_paused,
                    )
                    .limit(limit)
                    .scalar_subquery()
                ),
            )
            .values(status=MessageStatus.QUEUED, enqueued_at=now, updated_at=now)
            .returning(Message.id)
        )
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
