"""Putting a lead into a campaign: once, with the first step's due time."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.schedule import next_allowed


def due_at(enrolled_at: datetime, step: StepSpec, zone: ZoneInfo) -> datetime:
    """When `step` is due for a lead enrolled at `enrolled_at` living in `zone`."""
    return next_allowed(enrolled_at + step.offset, zone, step.windows())


def enroll(
    session: Session,
    *,
    lead_id: int,
    campaign_id: int,
    version_id: int,
    definition: CampaignDefinition,
    zone: ZoneInfo,
    now: datetime,
) -> tuple[Enrollment, bool]:
    """The lead's enrollment in the campaign, and whether it was created just now."""
    existing = session.scalars(
        select(Enrollment).where(
            Enrollment.lead_id == lead_id, Enrollment.campaign_id == campaign_id
        )
    ).one_or_none()
    if existing is not None:
        return existing, False
    first = definition.spec.steps[0]
    enrollment = Enrollment(
        lead_id=lead_id,
        campaign_id=campaign_id,
        campaign_version_id=version_id,
        status=EnrollmentStatus.ACTIVE,
        next_step_key=first.key,
        next_due_at=due_at(now, first, zone),
        enrolled_at=now,
    )
    session.add(enrollment)
    session.flush()
    return enrollment, True
