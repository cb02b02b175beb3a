"""A campaign's status: the moves staff may make, and what each one does to its leads.

Only an active campaign enrols leads and sends. Pausing loses nothing: the dispatcher
leaves the campaign's enrollments due and delivery holds its written messages until
the campaign is active again. Archiving is final: it ends the enrollments and skips
what was waiting, each with a recorded reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nurture.campaigns.models import Campaign, CampaignStatus
from nurture.messages.models import STEP_KINDS, Message
from nurture.sequences.ending import end_enrollments
from nurture.sequences.models import LIVE_ENROLLMENTS, Enrollment
from nurture.staff.service import Actor, record_audit

ARCHIVED_REASON = "campaign archived"

# The whole state machine; archived is final.
MOVES: dict[CampaignStatus, frozenset[CampaignStatus]] = {
    CampaignStatus.DRAFT: frozenset({CampaignStatus.ACTIVE}),
    CampaignStatus.ACTIVE: frozenset({CampaignStatus.PAUSED, CampaignStatus.ARCHIVED}),
    CampaignStatus.PAUSED: frozenset({CampaignStatus.ACTIVE, CampaignStatus.ARCHIVED}),
    CampaignStatus.ARCHIVED: frozenset(),
}
AUDIT_ACTION = {
    CampaignStatus.ACTIVE: "campaign.activated",
    CampaignStatus.PAUSED: "campaign.paused",
    CampaignStatus.ARCHIVED: "campaign.archived",
}
VERB = {
    CampaignStatus.ACTIVE: "activate",
    CampaignStatus.PAUSED: "pause",
    CampaignStatus.ARCHIVED: "archive",
}


class UnknownCampaign(LookupError):
    """No campaign has that slug."""


class StatusChangeRefused(ValueError):
    """The campaign cannot make that move from its current status; the message says why."""


@dataclass(frozen=True, slots=True)
class StatusChange:
    slug: str
    before: CampaignStatus
    after: CampaignStatus
    enrollments_ended: int = 0
    messages_skipped: int = 0


def find_campaign(session: Session, slug: str) -> Campaign:
    """The campaign with this slug, or UnknownCampaign."""
    campaign = session.scalar(select(Campaign).where(Campaign.slug == slug))
    if campaign is None:
        raise UnknownCampaign(slug)
    return campaign


def allowed_moves(status: str) -> list[CampaignStatus]:
    """The statuses a campaign in `status` may move to, in a stable order."""
    return sorted(MOVES[CampaignStatus(status)], key=list(CampaignStatus).index)


def enrollments_archive_would_end(session: Session, campaign_id: int) -> int:
    """How many enrollments are still running (active, or paused for the front desk)."""
    return (
        session.scalar(
            select(func.count(Enrollment.id)).where(
                Enrollment.campaign_id == campaign_id, Enrollment.status.in_(LIVE_ENROLLMENTS)
            )
        )
        or 0
    )


def _archive(session: Session, campaign_id: int, now: datetime) -> tuple[int, int]:
    ended = end_enrollments(
        session,
        [Enrollment.campaign_id == campaign_id, Enrollment.status.in_(LIVE_ENROLLMENTS)],
        ARCHIVED_REASON,
        now,
        messages=[Message.campaign_id == campaign_id, Message.kind.in_(STEP_KINDS)],
    )
    return len(ended.enrollments), len(ended.messages)


def change_status(
    session: Session, slug: str, target: CampaignStatus, actor: Actor, now: datetime
) -> StatusChange:
    """Move the campaign to `target`, apply what that means for its leads, and audit it."""
    campaign = find_campaign(session, slug)
    before = CampaignStatus(campaign.status)
    if target not in MOVES[before]:
        if before == target:
            raise StatusChangeRefused(f"campaign {slug} is already {target.value}")
        raise StatusChangeRefused(
            f"cannot {VERB[target]} campaign {slug}: it is {before.value}"
            + (" and archived is final" if before is CampaignStatus.ARCHIVED else "")
        )
    ended = skipped = 0
    if target is CampaignStatus.ARCHIVED:
        ended, skipped = _archive(session, campaign.id, now)
    campaign.status = target
    detail: dict[str, object] = {"from": before.value, "to": target.value}
    if target is CampaignStatus.ARCHIVED:
        detail |= {"enrollments_ended": ended, "messages_skipped": skipped}
    record_audit(session, actor, AUDIT_ACTION[target], now, slug, detail)
    return StatusChange(slug, before, target, ended, skipped)
