"""How each campaign is doing: enrollments by outcome, and each step's messages by status.

Plain queries returning plain values. With a Period, only the leads enrolled in it
count (nurture.analytics.cohort.enrolled_in), as on the Results page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from sqlalchemy import Subquery, func, select
from sqlalchemy.orm import Session

from nurture.analytics.cohort import enrolled_in
from nurture.analytics.funnel import UnknownCampaign
from nurture.analytics.period import Period
from nurture.booking.service import EXIT_REASON
from nurture.campaigns.models import Campaign
from nurture.campaigns.sync import load_version
from nurture.messages.models import Message, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus

# The order a reader expects: the pipeline first, then the outcomes.
STATUS_ORDER: tuple[MessageStatus, ...] = (
    MessageStatus.QUEUED,
    MessageStatus.HELD,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.FAILED,
    MessageStatus.SKIPPED,
    MessageStatus.UNKNOWN,
)


@dataclass(slots=True)
class StepStats:
    key: str
    channel: str
    by_status: dict[str, int] = field(default_factory=dict)
    skip_reasons: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_status.values())

    def count(self, status: str) -> int:
        """Messages of this step in `status` (a MessageStatus or its value)."""
        return self.by_status.get(MessageStatus(status).value, 0)


@dataclass(slots=True)
class CampaignStats:
    slug: str
    name: str
    enrollments: dict[str, int] = field(default_factory=dict)  # by enrollment status
    booked: int = 0  # exited because a screening was booked (the exit goal)
    exit_reasons: dict[str, int] = field(default_factory=dict)
    steps: list[StepStats] = field(default_factory=list)

    @property
    def enrolled(self) -> int:
        return sum(self.enrollments.values())

    @property
    def active(self) -> int:
        return self.enrollments.get(EnrollmentStatus.ACTIVE.value, 0)

    @property
    def completed(self) -> int:
        return self.enrollments.get(EnrollmentStatus.COMPLETED.value, 0)

    @property
    def exited(self) -> int:
        return self.enrollments.get(EnrollmentStatus.EXITED.value, 0)


__all__ = ["STATUS_ORDER", "CampaignStats", "StepStats", "UnknownCampaign", "campaign_stats"]


def campaign_stats(
    session: Session, slug: str | None = None, period: Period | None = None
) -> list[CampaignStats]:
    """Counts for every campaign (or the one named), in slug order; `period` by enrolment."""
    query = select(Campaign).order_by(Campaign.slug)
    if slug is not None:
        query = query.where(Campaign.slug == slug)
    campaigns = list(session.scalars(query))
    if slug is not None and not campaigns:
        raise UnknownCampaign(slug)
    period = period or Period()
    return [
        _one_campaign(session, campaign, enrolled_in(campaign.id, period)) for campaign in campaigns
    ]


def _one_campaign(session: Session, campaign: Campaign, enrolled: Subquery) -> CampaignStats:
    stats = CampaignStats(campaign.slug, campaign.name)
    stats.enrollments = {
        status: count
        for status, count in session.execute(
            select(Enrollment.status, func.count(Enrollment.id))
            .join(enrolled, enrolled.c.id == Enrollment.id)
            .group_by(Enrollment.status)
            .order_by(Enrollment.status)
        ).all()
    }
    stats.exit_reasons = {
        reason or "(no reason recorded)": count
        for reason, count in session.execute(
            select(Enrollment.end_reason, func.count(Enrollment.id))
            .join(enrolled, enrolled.c.id == Enrollment.id)
            .where(Enrollment.status == EnrollmentStatus.EXITED)
            .group_by(Enrollment.end_reason)
        ).all()
    }
    stats.booked = stats.exit_reasons.get(EXIT_REASON, 0)
    stats.steps = _step_stats(session, campaign, enrolled)
    return stats


def _step_stats(session: Session, campaign: Campaign, enrolled: Subquery) -> list[StepStats]:
    steps: dict[str, StepStats] = {}
    # The current version's steps first, in order, so steps nobody reached yet show zeros.
    if campaign.current_version_id is not None:
        for step in load_version(session, campaign.current_version_id).spec.steps:
            steps[step.key] = StepStats(step.key, step.channel.value)
    counts = session.execute(
        select(Message.step_key, Message.channel, Message.status, func.count(Message.id))
        .join(enrolled, enrolled.c.id == Message.enrollment_id)
        .where(Message.campaign_id == campaign.id)
        .group_by(Message.step_key, Message.channel, Message.status)
        .order_by(Message.step_key)
    ).all()
    for key, channel, status, count in counts:
        stats = steps.setdefault(key, StepStats(key, channel))  # a step of an older version
        stats.by_status[status] = stats.by_status.get(status, 0) + count
    reasons: dict[str, dict[str, int]] = defaultdict(dict)
    for key, reason, count in session.execute(
        select(Message.step_key, Message.reason, func.count(Message.id))
        .join(enrolled, enrolled.c.id == Message.enrollment_id)
        .where(Message.campaign_id == campaign.id, Message.status == MessageStatus.SKIPPED)
        .group_by(Message.step_key, Message.reason)
    ).all():
        reasons[key][reason or "(no reason recorded)"] = count
    for key, grouped in reasons.items():
        steps[key].skip_reasons = dict(sorted(grouped.items(), key=lambda item: -item[1]))
    return list(steps.values())
