"""Putting a lead into a campaign: once, with the first step's due time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.consent.policy import SendingPolicy
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.timing import step_due


def enroll(
    session: Session,
    *,
    lead_id: int,
    campaign_id: int,
    version_id: int,
    definition: CampaignDefinition,
    zone: ZoneInfo,
    now: datetime,
    policy: SendingPolicy,
    phone: str | None,
    confirm_first: bool = False,
) -> tuple[Enrollment, bool]:
    """The lead's enrollment in the campaign, and whether it was created just now.

    With `confirm_first` (double opt-in) it waits, unconfirmed, until `start` is called.
    """
    existing = session.scalars(
        select(Enrollment).where(
            Enrollment.lead_id == lead_id, Enrollment.campaign_id == campaign_id
        )
    ).one_or_none()
    if existing is not None:
        return existing, False
    enrollment = Enrollment(
        lead_id=lead_id,
        campaign_id=campaign_id,
        campaign_version_id=version_id,
        status=EnrollmentStatus.UNCONFIRMED,
        next_step_key=definition.spec.steps[0].key,
        enrolled_at=now,
    )
    if not confirm_first:
        start(enrollment, definition, zone, now, policy, phone)
    session.add(enrollment)
    session.flush()
    return enrollment, True


def start(
    enrollment: Enrollment,
    definition: CampaignDefinition,
    zone: ZoneInfo,
    now: datetime,
    policy: SendingPolicy,
    phone: str | None,
) -> None:
    """Set the sequence going from `now`: the first step due by the campaign's maths."""
    first = definition.spec.steps[0]
    enrollment.status = EnrollmentStatus.ACTIVE
    enrollment.next_step_key = first.key
    enrollment.next_due_at = step_due(now, first, zone, policy, phone)
    enrollment.enrolled_at = now
