"""Moving running enrollments onto a new campaign version, by step key."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from nurture.campaigns.models import CampaignVersion
from nurture.campaigns.spec import CampaignSpec, StepSpec
from nurture.campaigns.sync import load_version
from nurture.consent.policy import SendingPolicy
from nurture.leads.models import Lead
from nurture.leads.zone import lead_zone
from nurture.messages import outbox
from nurture.messages.models import STEP_KINDS, Message
from nurture.sequences.models import LIVE_ENROLLMENTS, Enrollment, EnrollmentStatus
from nurture.sequences.timing import step_due


@dataclass(frozen=True, slots=True)
class MoveReport:
    """What moving running enrollments onto a new version did (or would do)."""

    moved: int = 0  # now on the new version
    retimed: int = 0  # their next due time was recomputed
    due_now: int = 0  # of the retimed, due at once
    completed: int = 0  # ended: none of their remaining steps exists any more
    skipped_messages: int = 0  # written for a step that no longer exists


@dataclass(frozen=True)
class MoveGroup:
    """Running enrollments on one old version waiting for one step, and where they go."""

    version_id: int
    key: str | None
    count: int
    target: str | None
    retime: bool  # the next due time must be recomputed
    due: dict[int, datetime]  # enrollment id -> recomputed due time, when retimed

    @property
    def completes(self) -> bool:
        return self.key is not None and self.target is None


def _timing(step: StepSpec) -> tuple[object, ...]:
    return (step.offset, step.window, step.channel)


def _destination(old: CampaignSpec, new: CampaignSpec, key: str | None) -> tuple[str | None, bool]:
    """Where an enrollment waiting for `key` continues in `new`, and whether to retime it."""
    if key is None:
        return None, False
    new_keys = {s.key for s in new.steps}
    old_keys = [s.key for s in old.steps]
    if key in new_keys:
        before = next((s for s in old.steps if s.key == key), None)
        return key, before is None or _timing(before) != _timing(new.step(key))
    # The step is gone: continue at the first later step (in the old order) that remains.
    later = old_keys[old_keys.index(key) + 1 :] if key in old_keys else []
    return next((k for k in later if k in new_keys), None), True


def _new_due_times(
    session: Session,
    campaign_id: int,
    version_id: int,
    key: str,
    step: StepSpec,
    policy: SendingPolicy,
    clinic_zone: ZoneInfo,
) -> dict[int, datetime]:
    rows = session.execute(
        select(Enrollment.id, Enrollment.enrolled_at, Lead.timezone, Lead.phone)
        .join(Lead, Lead.id == Enrollment.lead_id)
        .where(
            Enrollment.campaign_id == campaign_id,
            Enrollment.campaign_version_id == version_id,
            Enrollment.next_step_key == key,
            Enrollment.status.in_(LIVE_ENROLLMENTS),
        )
    )
    # The same maths as the dispatcher's advance: from sign-up, in the lead's zone.
    return {
        enrollment_id: step_due(
            enrolled_at, step, lead_zone(timezone, phone, clinic_zone), policy, phone
        )
        for enrollment_id, enrolled_at, timezone, phone in rows
    }


def plan_moves(
    session: Session,
    campaign_id: int,
    new: CampaignSpec,
    policy: SendingPolicy,
    clinic_zone: ZoneInfo,
    skip_version_id: int | None = None,
) -> list[MoveGroup]:
    """Where each group of running enrollments would go in `new` (nothing is written)."""
    groups = session.execute(
        select(Enrollment.campaign_version_id, Enrollment.next_step_key, func.count())
        .where(Enrollment.campaign_id == campaign_id, Enrollment.status.in_(LIVE_ENROLLMENTS))
        .group_by(Enrollment.campaign_version_id, Enrollment.next_step_key)
    ).all()
    specs: dict[int, CampaignSpec] = {}
    plan = []
    for version_id, key, count in groups:
        if version_id == skip_version_id:
            continue
        if version_id not in specs:
            specs[version_id] = load_version(session, version_id).spec
        target, retime = _destination(specs[version_id], new, key)
        due = {}
        if key is None or target is None:
            retime = False  # nothing left to time: kept as is, or completed
        elif retime:
            step = new.step(target)
            due = _new_due_times(session, campaign_id, version_id, key, step, policy, clinic_zone)
        plan.append(MoveGroup(version_id, key, count, target, retime, due))
    return plan


def move_enrollments_to_version(
    session: Session,
    campaign_id: int,
    new_version_id: int,
    now: datetime,
    policy: SendingPolicy,
    clinic_zone: ZoneInfo,
) -> MoveReport:
    """Move the campaign's active and paused enrollments onto `new_version_id`, by step key.

    A lead keeps its next step when the new version has it (its due time recomputed if
    the step's delay, window or channel changed); else it continues at the first later
    step that still exists; else its enrollment completes with a reason. Enrollments
    that complete stay on their version, so messages already written for them still
    render; a waiting message whose step is gone is skipped with a reason.
    """
    version = session.get(CampaignVersion, new_version_id)
    if version is None or version.campaign_id != campaign_id:
        raise LookupError(f"campaign {campaign_id} has no version {new_version_id}")
    new = load_version(session, new_version_id).spec
    moved = retimed = due_now = completed = 0
    for group in plan_moves(session, campaign_id, new, policy, clinic_zone, new_version_id):
        same = (
            Enrollment.campaign_id == campaign_id,
            Enrollment.campaign_version_id == group.version_id,
            Enrollment.status.in_(LIVE_ENROLLMENTS),
            Enrollment.next_step_key.is_(None)
            if group.key is None
            else Enrollment.next_step_key == group.key,
        )
        if group.completes:
            reason = f"its remaining steps were removed in version {version.number}"
            completed += _update(
                session,
                same,
                status=EnrollmentStatus.COMPLETED,
                next_step_key=None,
                next_due_at=None,
                ended_at=now,
                end_reason=reason,
            )
            continue
        if not group.retime:
            moved += _update(session, same, campaign_version_id=new_version_id)
            continue
        for enrollment_id, due in group.due.items():
            # Guarded by the old version and key: a dispatcher that advanced the
            # enrollment meanwhile wins, and the lead stays where the dispatcher put it.
            count = _update(
                session,
                (*same, Enrollment.id == enrollment_id),
                campaign_version_id=new_version_id,
                next_step_key=group.target,
                next_due_at=due,
            )
            moved += count
            retimed += count
            due_now += count if due <= now else 0
    skipped = _skip_orphaned_messages(session, campaign_id, new_version_id, version.number, now)
    return MoveReport(moved, retimed, due_now, completed, skipped)


def _update(session: Session, where: tuple[Any, ...], **values: object) -> int:
    return len(
        session.scalars(
            update(Enrollment)
            .where(*where)
            .values(**values)
            .returning(Enrollment.id)
            .execution_options(synchronize_session=False)
        ).all()
    )


def _skip_orphaned_messages(
    session: Session, campaign_id: int, version_id: int, number: int, now: datetime
) -> int:
    # Delivery renders a waiting message from its enrollment's version: one whose step
    # that version lacks could not be rendered, so it ends now with a recorded reason.
    keys = [s.key for s in load_version(session, version_id).spec.steps]
    moved = select(Enrollment.id).where(Enrollment.campaign_version_id == version_id)
    orphaned = [
        Message.campaign_id == campaign_id,
        Message.kind.in_(STEP_KINDS),
        Message.step_key.not_in(keys),
        Message.enrollment_id.in_(moved.scalar_subquery()),
    ]
    return len(
        outbox.skip_waiting(session, orphaned, f"step removed in campaign version {number}", now)
    )
