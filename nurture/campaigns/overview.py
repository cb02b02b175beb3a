"""What the console shows about campaigns: headline numbers, step timelines, versions.

Plain queries returning plain values. The list's numbers come from two grouped
queries whatever the number of campaigns, and "booked" means what `nurture stats`
means by it: enrollments that ended because a screening was booked.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from nurture.booking.service import EXIT_REASON
from nurture.campaigns.definition import CampaignDefinition
from nurture.campaigns.models import Campaign, CampaignVersion
from nurture.campaigns.preview import headline
from nurture.campaigns.spec import StepSpec
from nurture.config import Settings
from nurture.consent.policy import SendingPolicy
from nurture.messages.models import Message, MessageKind, MessageStatus
from nurture.sequences.models import Enrollment, EnrollmentStatus
from nurture.sequences.timing import describe_window

SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED)


@dataclass(frozen=True, slots=True)
class CampaignRow:
    slug: str
    name: str
    status: str
    version: int | None
    enrolled: int = 0
    active: int = 0
    booked: int = 0
    sent: int = 0


def campaign_rows(session: Session) -> list[CampaignRow]:
    """Every campaign with its current version number and headline numbers, by slug."""
    campaigns = session.execute(
        select(Campaign.id, Campaign.slug, Campaign.name, Campaign.status, CampaignVersion.number)
        .outerjoin(CampaignVersion, CampaignVersion.id == Campaign.current_version_id)
        .order_by(Campaign.slug)
    ).all()
    is_active = case((Enrollment.status == EnrollmentStatus.ACTIVE, 1), else_=0)
    is_booked = case(
        (
            (Enrollment.status == EnrollmentStatus.EXITED) & (Enrollment.end_reason == EXIT_REASON),
            1,
        ),
        else_=0,
    )
    enrolments = {
        row[0]: row[1:]
        for row in session.execute(
            select(
                Enrollment.campaign_id,
                func.count(Enrollment.id),
                func.sum(is_active),
                func.sum(is_booked),
            ).group_by(Enrollment.campaign_id)
        ).all()
    }
    sent = dict(
        session.execute(
            select(Message.campaign_id, func.count(Message.id))
            .where(Message.kind == MessageKind.CAMPAIGN, Message.status.in_(SENT_STATUSES))
            .group_by(Message.campaign_id)
        ).all()
    )
    rows = []
    for campaign_id, slug, name, status, version in campaigns:
        enrolled, active, booked = enrolments.get(campaign_id, (0, 0, 0))
        rows.append(
            CampaignRow(
                slug,
                name,
                status,
                version,
                int(enrolled),
                int(active or 0),
                int(booked or 0),
                int(sent.get(campaign_id, 0)),
            )
        )
    return rows


@dataclass(frozen=True, slots=True)
class StepRow:
    key: str
    day: int  # whole days from sign-up
    delay: str
    channel: str
    condition: str | None
    window: str | None
    headline: str  # the email's subject, or the text, for the sample lead


def _window(step: StepSpec, policy: SendingPolicy) -> str | None:
    if step.window is None:
        return None
    return describe_window(step.window.window(), policy, step).removeprefix("step window ")


def step_rows(definition: CampaignDefinition, settings: Settings) -> list[StepRow]:
    """The campaign's steps as a timeline, in order."""
    policy = SendingPolicy.from_settings(settings)
    return [
        StepRow(
            step.key,
            step.offset.days,
            step.delay,
            step.medium,
            step.condition,
            _window(step, policy),
            headline(definition, step, settings),
        )
        for step in definition.spec.steps
    ]


@dataclass(frozen=True, slots=True)
class VersionRow:
    number: int
    created_at: datetime
    checksum: str
    enrollments: int
    current: bool
    changes: list[str] = field(default_factory=list)  # against the version before


def _step_changes(before: StepSpec, after: StepSpec, old: str, new: str) -> list[str]:
    changes = []
    for name in ("delay", "channel", "subject", "preheader", "condition", "window", "template"):
        was, now = getattr(before, name), getattr(after, name)
        if was != now:
            shown = (
                f"{was} → {now}"
                if name in ("delay", "channel", "condition", "template")
                else f"{was!r} → {now!r}"
            )
            changes.append(f"step {after.key}: {name} {shown}")
    if old != new:
        changes.append(f"step {after.key}: {after.template} text changed")
    return changes


def diff_definitions(before: CampaignDefinition, after: CampaignDefinition) -> list[str]:
    """What changed between two versions, one line per change, in the new version's order."""
    old_steps = {s.key: s for s in before.spec.steps}
    new_keys = [s.key for s in after.spec.steps]
    changes = []
    for name in ("name", "description", "article", "sms_max_segments"):
        if getattr(before.spec, name) != getattr(after.spec, name):
            changes.append(f"campaign {name} changed")
    for step in after.spec.steps:
        previous = old_steps.get(step.key)
        if previous is None:
            changes.append(f"step {step.key} added")
            continue
        old_text = before.templates.get(previous.template, "")
        new_text = after.templates.get(step.template, "")
        changes += _step_changes(previous, step, old_text, new_text)
    changes += [f"step {key} removed" for key in old_steps if key not in new_keys]
    kept = [key for key in new_keys if key in old_steps]
    if kept != [key for key in old_steps if key in new_keys]:
        changes.append("steps reordered")
    return changes


def enrollments_per_version(session: Session, campaign_id: int) -> dict[int, int]:
    """How many enrollments (of any status) are on each version id."""
    return {
        version_id: int(count)
        for version_id, count in session.execute(
            select(Enrollment.campaign_version_id, func.count(Enrollment.id))
            .where(Enrollment.campaign_id == campaign_id)
            .group_by(Enrollment.campaign_version_id)
        ).all()
    }


def version_rows(session: Session, campaign: Campaign) -> list[VersionRow]:
    """Every version of the campaign, newest first, each with what it changed."""
    versions = list(
        session.scalars(
            select(CampaignVersion)
            .where(CampaignVersion.campaign_id == campaign.id)
            .order_by(CampaignVersion.number)
        )
    )
    counts = enrollments_per_version(session, campaign.id)
    rows, previous = [], None
    for version in versions:
        definition = CampaignDefinition.from_json(version.definition)
        changes = ["first version"] if previous is None else diff_definitions(previous, definition)
        rows.append(
            VersionRow(
                version.number,
                version.created_at,
                version.checksum[:12],
                counts.get(version.id, 0),
                version.id == campaign.current_version_id,
                changes or ["no visible change"],
            )
        )
        previous = definition
    return rows[::-1]
