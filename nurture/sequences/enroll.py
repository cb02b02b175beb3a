"""Putting a lead into a campaign: once, with the first step's due time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.spec import StepSpec
from nurture.consent.policy import SendingPolicy
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.schedule import SendWindow, next_allowed


def due_at(
    enrolled_at: datetime,
    step: StepSpec,
    zone: ZoneInfo,
    windows: Sequence[SendWindow] | None = None,
) -> datetime:
    """When `step` is due for a lead enrolled at `enrolled_at` living in `zone`.

    `windows` come from the sending policy; without them the step's own window and
    the default SMS quiet hours apply.
    """
    chosen = step.windows() if windows is None else windows
    # In UTC, so "2d" means 48 real hours even across a daylight-saving change.
    return next_allowed(enrolled_at.astimezone(UTC) + step.offset, zone, chosen)


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
        next_due_at=due_at(now, first, zone, policy.windows(first, phone)),
        enrolled_at=now,
    )
    session.add(enrollment)
    session.flush()
    return enrollment, True
